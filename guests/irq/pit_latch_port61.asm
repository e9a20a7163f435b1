; 8254 counter latch (control word 00H for counter 0, datasheet "Counter Latch Command"):
; the count is frozen when latched and released when read; a second latch before the
; first is read is ignored, so reading after latch, delay, latch returns the first value,
; not one taken after the delay (a fresh latch then differs).  And port 61H belongs to
; userspace: KVM_CREATE_PIT2 without KVM_PIT_SPEAKER_DUMMY registers no speaker port
; (i8254.c kvm_create_pit), so IN from 61H exits and the harness answers all ones.
; Catches: every latch command taking a new snapshot, a latch never released, port 61H
; (counter 2's gate and OUT) handled in the kernel without the flag.
%define PL_FLAGS PL_F_IRQCHIP | PL_F_PIT
%define PL_BUDGET 60000000
%include "payload.inc"
%macro LATCH0_READ 1                ; %1 = counter 0's latched count (zero-extended)
    in al, 0x40
    mov ah, al
    in al, 0x40
    xchg al, ah
    movzx %1, ax
%endmacro
%macro DELAY 0
    mov ecx, 20000
%%d:
    pause
    dec ecx
    jnz %%d
%endmacro
PAYLOAD pit_latch_port61, irq, long64, "8254 latch: a second latch before the read is ignored; port 61H is userspace's"
payload_main:
    in al, 0x61
    movzx eax, al
    CHECK_EQ eax, 0xFF, "IN 61H exits to userspace (no KVM_PIT_SPEAKER_DUMMY): the harness answers FFH"
    mov al, 0x34                    ; counter 0, lobyte/hibyte, mode 2, binary
    out 0x43, al
    mov al, 0xFF
    out 0x40, al
    out 0x40, al                    ; count FFFFH (55 ms period)
    DELAY
    xor al, al                      ; latch counter 0
    out 0x43, al
    DELAY
    xor al, al                      ; latch again before reading: ignored
    out 0x43, al
    LATCH0_READ ebx                 ; the first latch's value
    xor al, al
    out 0x43, al
    LATCH0_READ edx                 ; a fresh one, a delay later
    CHECK_NE rbx, rdx, "the read returned the first latch, not the second (ignored) one"
    CHECK_NE rbx, 0, "a running mode 2 counter never reads 0"
    PAYLOAD_DONE

; An AP that the harness started (v3 ap_entry: KVM_SET_MP_STATE RUNNABLE, no INIT ever
; taken) follows the INIT/SIPI rules of any AP: while it runs, a start-up IPI is ignored,
; since only a vCPU in INIT_RECEIVED accepts one (KVM lapic.c kvm_apic_accept_events; SDM
; Vol. 3A 10.6.1); INIT stops it (wait-for-SIPI: its loop counter freezes); a SIPI then
; starts it in real mode at CS = vector << 8, IP = 0.  The AP spins (never halts), so
; the INIT must stop a running vCPU.  Catches: SET_MP_STATE RUNNABLE leaving the vCPU in
; a wait-for-SIPI state (the lone SIPI would restart it), a SIPI remembered and applied
; at the later INIT, INIT that does not stop a running vCPU that never had one.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_AP_HARNESS_START
%define PL_BUDGET 40000000
%define NEW_VECTOR ((new_start - $$ + PL_LOAD_ADDR) >> 12)
%include "payload.inc"
PAYLOAD smp_harness_init_sipi, irq, long64, "an AP the harness started ignores a lone SIPI while it runs; INIT stops it; SIPI restarts it"
payload_main:
    WAIT_COUNT ticks, 1000, 4000000000
    CHECK_EQ [marker], 0, "the harness-started AP runs its loop"
    SEND_IPI 1, ICR_STARTUP | ICR_ASSERT | NEW_VECTOR       ; not waiting for SIPI: ignored
    mov rbx, [ticks]
    add rbx, 1000
    WAIT_COUNT ticks, rbx, 4000000000
    cmp rax, rbx
    setae al
    movzx eax, al
    CHECK_EQ eax, 1, "after the lone SIPI the AP still runs its loop"
    CHECK_EQ [marker], 0, "and did not start at the SIPI's vector"
    SEND_IPI 1, ICR_INIT | ICR_ASSERT
    mov ecx, 200000             ; let the INIT land, then the counter must stand still
.settle:
    pause
    dec ecx
    jnz .settle
    mov rbx, [ticks]
    mov ecx, 200000
.still:
    pause
    dec ecx
    jnz .still
    mov rax, [ticks]
    sub rax, rbx
    CHECK_EQ rax, 0, "after INIT the AP's loop counter stands still (wait-for-SIPI)"
    SEND_IPI 1, ICR_STARTUP | ICR_ASSERT | NEW_VECTOR
    WAIT_COUNT marker, 0x5A5A, 4000000000
    CHECK_EQ rax, 0x5A5A, "the SIPI started the AP at new_start"
    CHECK_EQ [new_cs], NEW_VECTOR << 8, "with CS = the SIPI vector << 8"
    PAYLOAD_DONE

payload_ap_main:
.loop:
    lock inc qword [ticks]
    pause
    jmp .loop

    [bits 16]
    align 4096
new_start:                      ; CS = NEW_VECTOR << 8, IP = 0
    mov bx, cs
    xor cx, cx
    mov ds, cx
    mov [new_cs], bx
    mov word [marker], 0x5A5A
.park:
    cli
    hlt
    jmp .park
    [bits 64]

    align 8
ticks:         dq 0
marker:        dq 0
new_cs:        dq 0

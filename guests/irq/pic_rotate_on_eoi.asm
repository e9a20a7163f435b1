; Rotation (OCW2 A0H, rotate on non-specific EOI) makes the line just ended the lowest
; priority, so the next one up becomes the highest (8259A datasheet, OCW2 R/SL/EOI).  With
; the default order IRQ1 beats IRQ4; after IRQ3 is ended with rotate-on-EOI, IRQ4 is the
; highest and beats IRQ1.  Both are raised while IF=0 and the order of their handlers is
; recorded.  Catches: rotation ignored (IRQ1 first), the priority base rotated the wrong
; way (IRQ1 would still be above IRQ4 if the base moved down).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pic_rotate_on_eoi, irq, long64, "after a rotate-on-EOI of IRQ3, IRQ4 outranks IRQ1"
payload_main:
    SET_HANDLER 0x21, isr1
    SET_HANDLER 0x23, isr3
    SET_HANDLER 0x24, isr4
    PIC_INIT 0x20, 0x28, ~((1 << 1) | (1 << 3) | (1 << 4)) & 0xFF, 0xFF
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_DM_EXTINT
    HOST_REQUEST HOST_IRQ_PULSE, 3          ; IRQ3 first, ended with rotation
    sti
    WAIT_COUNT order_len, 1, 20000000
    cli
    CHECK_EQ [order], 3, "IRQ3 taken"
    HOST_REQUEST HOST_IRQ_PULSE, 1
    HOST_REQUEST HOST_IRQ_PULSE, 4
    sti
    WAIT_COUNT order_len, 3, 20000000
    cli
    CHECK_EQ rax, 3, "IRQ1 and IRQ4 taken"
    CHECK_EQ [order + 8], 4, "IRQ4 first: after rotation IR4 is the highest priority"
    CHECK_EQ [order + 16], 1, "then IRQ1"
    PAYLOAD_DONE
isr1:
    push rax
    mov eax, 1
    jmp record
isr4:
    push rax
    mov eax, 4
    jmp record
isr3:
    push rax
    mov eax, 3
    push rbx
    mov rbx, [order_len]
    mov [order + rbx * 8], rax
    inc qword [order_len]
    pop rbx
    mov al, 0xA0                            ; rotate on non-specific EOI
    out 0x20, al
    pop rax
    iretq
record:
    push rbx
    mov rbx, [order_len]
    mov [order + rbx * 8], rax
    inc qword [order_len]
    pop rbx
    mov al, 0x20
    out 0x20, al
    pop rax
    iretq
    align 8
order_len:  dq 0
order:      dq 0, 0, 0, 0

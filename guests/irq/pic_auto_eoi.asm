; Automatic EOI (ICW4 bit 1; 8259A datasheet): the ISR bit is cleared as the interrupt is
; acknowledged, so it reads 0 in the handler and the handler needs no EOI; a second edge of
; the same line is delivered without one.  Catches: AEOI ignored (ISR set, the second edge
; blocked forever), the ICW4 bits misread.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pic_auto_eoi, irq, long64, "8259 auto-EOI: ISR clear in the handler, the next edge needs no EOI"
payload_main:
    SET_HANDLER 0x26, isr6
    mov al, 0x11                            ; ICW1: edge, cascade, ICW4
    out 0x20, al
    mov al, 0x20                            ; ICW2: base 20H
    out 0x21, al
    mov al, 0x04                            ; ICW3: slave on IR2
    out 0x21, al
    mov al, 0x03                            ; ICW4: 8086 mode, auto EOI
    out 0x21, al
    mov al, ~(1 << 6) & 0xFF                ; OCW1: only IRQ6
    out 0x21, al
    mov al, 0x0B                            ; OCW3: reads return ISR
    out 0x20, al
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_DM_EXTINT
    sti
    HOST_REQUEST HOST_IRQ_PULSE, 6
    WAIT_COUNT count, 1, 20000000
    CHECK_EQ rax, 1, "IRQ6 taken"
    CHECK_EQ [isr_in], 0, "auto EOI: ISR clear in the handler"
    HOST_REQUEST HOST_IRQ_PULSE, 6
    WAIT_COUNT count, 2, 20000000
    cli
    CHECK_EQ rax, 2, "a second edge, with no EOI written, is delivered"
    PAYLOAD_DONE
isr6:                                       ; no EOI
    push rax
    in al, 0x20
    movzx eax, al
    mov [isr_in], rax
    inc qword [count]
    pop rax
    iretq
    align 8
count:  dq 0
isr_in: dq -1

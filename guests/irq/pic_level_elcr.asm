; A PIC line set level-sensitive in the ELCR (port 4D1H bit 1 = IRQ9; PIIX ELCR, KVM
; i8259.c elcr) is delivered again after an EOI while its input stays high, and stops once
; the input goes low (8259A level mode: IRR follows the input).  IRQ9 reaches the CPU
; through the slave and the master's IR2.  The first handler leaves the line high; the
; second lowers it before its EOI: two deliveries.  Catches: a level line treated as edge
; (one delivery), the ELCR ignored, a line that stays pending after going low.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
%define IRQ 9
PAYLOAD pic_level_elcr, irq, long64, "ELCR level IRQ9: delivered again after EOI while high, stops once low"
payload_main:
    SET_HANDLER 0x28 + (IRQ - 8), isr
    PIC_INIT 0x20, 0x28, ~(1 << 2) & 0xFF, ~(1 << (IRQ - 8)) & 0xFF
    mov dx, 0x4D1
    mov al, 1 << (IRQ - 8)                  ; IRQ9 level-sensitive
    out dx, al
    in al, dx
    movzx eax, al
    CHECK_MASK eax, 1 << (IRQ - 8), 1 << (IRQ - 8), "ELCR keeps IRQ9 level-sensitive"
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_DM_EXTINT
    sti
    HOST_REQUEST HOST_IRQ_HIGH, IRQ
    WAIT_COUNT count, 2, 20000000
    WAIT_COUNT count, 3, 5000000            ; must not come: the line is low now
    cli
    CHECK_EQ [count], 2, "delivered twice: again after the EOI while high, not after going low"
    PAYLOAD_DONE
isr:
    push rax
    inc qword [count]
    cmp qword [count], 2
    jb .eoi
    HOST_REQUEST HOST_IRQ_LOW, IRQ          ; the second time: lower the line first
.eoi:
    mov al, 0x20
    out 0xA0, al
    out 0x20, al
    pop rax
    iretq
    align 8
count: dq 0

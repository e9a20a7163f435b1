; Special mask mode (OCW3 68H) as KVM implements it: the 8259A datasheet lets a masked line
; in service stop blocking lower-priority lines in special mask mode, but KVM's in-kernel
; 8259 stores the mode and does not apply it (i8259.c pic_get_irq computes the in-service
; priority from ISR alone), so with IRQ3 in service and masked, IRQ4 is still held until
; IRQ3's specific EOI, and then delivered.  A VMM or guest that relies on special mask mode
; (some old DOS-era code) gets KVM's behaviour, which this payload pins down.  Catches: an
; in-service line that does not block lower ones, a held IRQ4 lost at the EOI.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pic_special_mask, irq, long64, "KVM 8259: IRQ3 in service holds IRQ4 even masked in special mask mode, until its EOI"
payload_main:
    SET_HANDLER 0x23, isr3
    SET_HANDLER 0x24, isr4
    PIC_INIT 0x20, 0x28, ~((1 << 3) | (1 << 4)) & 0xFF, 0xFF
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_DM_EXTINT
    sti
    HOST_REQUEST HOST_IRQ_PULSE, 3
    WAIT_COUNT got3, 1, 20000000
    CHECK_EQ rax, 1, "IRQ3 taken and left in service"
    HOST_REQUEST HOST_IRQ_PULSE, 4
    WAIT_COUNT got4, 1, 20000000            ; must not come: IRQ3 in service blocks it
    CHECK_EQ [got4], 0, "IRQ4 held while IRQ3 is in service"
    mov al, (1 << 3)                        ; mask IRQ3 (IRQ4 stays unmasked)
    out 0x21, al
    mov al, 0x68                            ; OCW3: set special mask mode
    out 0x20, al
    WAIT_COUNT got4, 1, 20000000            ; must not come on KVM (see above)
    CHECK_EQ [got4], 0, "special mask mode does not let IRQ4 past the in-service IRQ3 (KVM pic_get_irq)"
    mov al, 0x48                            ; OCW3: reset special mask mode
    out 0x20, al
    mov al, 0x60 | 3                        ; specific EOI for IRQ3
    out 0x20, al
    WAIT_COUNT got4, 1, 20000000
    cli
    CHECK_EQ rax, 1, "IRQ4 delivered once IRQ3 is ended"
    PAYLOAD_DONE
isr3:                                       ; no EOI: IRQ3 stays in service
    inc qword [got3]
    iretq
isr4:
    inc qword [got4]
    push rax
    mov al, 0x60 | 4
    out 0x20, al
    pop rax
    iretq
    align 8
got3: dq 0
got4: dq 0

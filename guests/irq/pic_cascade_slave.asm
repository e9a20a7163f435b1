; An IRQ on the slave 8259 reaches the CPU through the master's IR2 (cascade): an edge on
; IRQ12 (slave IR4) is delivered as the slave's vector base + 4 (8259A datasheet, ICW3
; cascade; KVM i8259.c kvm_pic_read_irq asks the slave when the master's IRQ2 wins).  In
; the handler the slave's ISR has bit 4 and the master's ISR bit 2; a non-specific EOI to
; the slave, then one to the master, clears both.  The slave's IRQ stays blocked while the
; master's IRQ2 is masked.  Catches: slave IRQs delivered with the master's vector base,
; the cascade line's ISR bit not set on the master, IRQ2's mask ignored.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
%define IRQ 12
%define VEC (0x28 + IRQ - 8)
PAYLOAD pic_cascade_slave, irq, long64, "slave IRQ12 via the master's IR2: vector 0x2C, both ISRs, EOI to both"
payload_main:
    SET_HANDLER VEC, isr
    PIC_INIT 0x20, 0x28, 0xFF, ~(1 << (IRQ - 8)) & 0xFF     ; master IR2 masked for now
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_DM_EXTINT
    sti
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT count, 1, 20000000           ; must not come: the cascade input is masked
    CHECK_EQ [count], 0, "IRQ12 held while the master's IR2 is masked"
    mov al, ~(1 << 2) & 0xFF                ; unmask the cascade line
    out 0x21, al
    WAIT_COUNT count, 1, 20000000
    cli
    CHECK_EQ [count], 1, "delivered at vector 0x2C once the master's IR2 is unmasked"
    CHECK_EQ [slave_isr], 1 << (IRQ - 8), "slave ISR = bit 4 in the handler"
    CHECK_EQ [master_isr], 1 << 2, "master ISR = bit 2 (the cascade) in the handler"
    CHECK_EQ [isr_after], 0, "both ISRs clear after EOI to the slave, then the master"
    PAYLOAD_DONE
isr:
    push rax
    inc qword [count]
    mov al, 0x0B                            ; OCW3: read ISR, on both
    out 0xA0, al
    out 0x20, al
    in al, 0xA0
    movzx eax, al
    mov [slave_isr], rax
    in al, 0x20
    movzx eax, al
    mov [master_isr], rax
    mov al, 0x20
    out 0xA0, al                            ; non-specific EOI: slave first
    out 0x20, al
    in al, 0xA0
    mov ah, al
    in al, 0x20
    or al, ah
    movzx eax, al
    mov [isr_after], rax
    pop rax
    iretq
    align 8
count:      dq 0
slave_isr:  dq -1
master_isr: dq -1
isr_after:  dq -1

; KVM_IRQ_LINE through the in-kernel IOAPIC.  82093AA IOAPIC datasheet: the
; redirection entry for pin n is at index 0x10 + 2n (low) / 0x11 + 2n (high);
; low bits 7:0 vector, 10:8 delivery mode (0 fixed), bit 15 trigger (0 edge),
; bit 16 mask; high bits 63:56 destination APIC ID.  SDM Vol. 3 10.4.3: the
; LAPIC must be software-enabled (SVR bit 8); EOI by writing 0 to 0xFEE000B0.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000      ; bounded TSC waits spin up to 2M iterations each
%include "payload.inc"
%define IRQ 5
%define VEC 0x55
PAYLOAD ioapic_irq_line, irq, long64, "KVM_IRQ_LINE on GSI 5 via the IOAPIC redirection entry to vector 0x55"
payload_main:
    SET_HANDLER VEC, isr
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF           ; keep the 8259 out of the way
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_LVT_MASKED
    IOAPIC_WR 0x11 + 2 * IRQ, 0               ; destination APIC ID 0
    IOAPIC_WR 0x10 + 2 * IRQ, VEC             ; fixed, physical, edge, high, unmasked
    sti
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT count, 1, 20000000
    cli
    CHECK_EQ [count], 1, "vector 0x55 handler ran once"
    CHECK_EQ [isr_bit], 1, "LAPIC ISR bit for 0x55 set in the handler"
    PAYLOAD_DONE
isr:
    push rax
    inc qword [count]
    LAPIC_RD APIC_ISR + (VEC / 32) * 0x10
    bt eax, VEC % 32
    setc al
    movzx eax, al
    mov [isr_bit], rax
    LAPIC_WR APIC_EOI, 0
    pop rax
    iretq
    align 8
count: dq 0
isr_bit: dq -1

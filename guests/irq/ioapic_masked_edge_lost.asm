; An edge on a masked IOAPIC pin is not kept for later: unmasking the entry delivers
; nothing, and the next edge is delivered once (KVM ioapic.c: ioapic_service returns at once
; for a masked entry, the IRR bit of an edge pin is cleared when the line goes low, and an
; unmask re-services only level-triggered pins; the 8259 differs: pic_mask_holds_irr).
; Catches: an IOAPIC that latches masked edges like the PIC (delivery on unmask), a pin
; left dead after a masked edge (the coalescing test of ioapic_set_irq gone wrong).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
%define IRQ 7
%define VEC 0x77
PAYLOAD ioapic_masked_edge_lost, irq, long64, "an edge on a masked IOAPIC pin is lost at unmask; the next edge arrives once"
payload_main:
    SET_HANDLER VEC, isr
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_LVT_MASKED
    IOAPIC_WR 0x11 + 2 * IRQ, 0
    IOAPIC_WR 0x10 + 2 * IRQ, VEC | (1 << 16)       ; edge, masked
    sti
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT count, 1, 20000000                   ; must not come: masked
    CHECK_EQ [count], 0, "no delivery while masked"
    IOAPIC_WR 0x10 + 2 * IRQ, VEC                   ; unmask
    WAIT_COUNT count, 1, 20000000                   ; must not come: the edge is gone
    CHECK_EQ [count], 0, "unmasking does not deliver the edge seen while masked"
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT count, 1, 20000000
    WAIT_COUNT count, 2, 5000000                    ; a second must not come
    cli
    CHECK_EQ [count], 1, "the next edge is delivered once"
    PAYLOAD_DONE
isr:
    inc qword [count]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count: dq 0

; An IOAPIC redirection entry in lowest-priority mode with a logical destination (flat,
; APs 1-3) delivers each edge to exactly one LAPIC of the set (82093AA datasheet; SDM Vol.
; 3A 10.6.2.4; KVM ioapic_service -> kvm_irq_delivery_to_apic).  Four pulses of GSI 11:
; four deliveries in all, none to the BSP (not in the set).  Catches: lowest priority
; treated as fixed for IOAPIC interrupts (three per pulse), the logical destination ignored.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 60000000
%include "payload.inc"
%define IRQ 11
%define VEC 0x74
PAYLOAD ioapic_lowest_priority, irq, long64, "IOAPIC lowest-priority entry to a logical set: one member per edge"
payload_main:
    SET_HANDLER VEC, on_74
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF
    LAPIC_WR APIC_LVT0, APIC_LVT_MASKED
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 1 << 24
    IOAPIC_WR 0x11 + 2 * IRQ, 0x0E << 24                ; logical destination 0EH
    IOAPIC_WR 0x10 + 2 * IRQ, VEC | (1 << 8) | (1 << 11) ; lowest priority, logical, edge
    WAIT_COUNT ready, 3, 4000000000
    CHECK_EQ rax, 3, "three APs with LDR set, idle with IF=1"
    sti
%assign k 1
%rep 4
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT total, k, 4000000000
%assign k k + 1
%endrep
    WAIT_COUNT total, 5, 20000000           ; a fifth must not come
    cli
    CHECK_EQ [total], 4, "four edges, four deliveries"
    CHECK_EQ [got], 0, "none to the BSP"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    FLAT_LDR_FROM_ID
    AP_IDLE_READY ready

COUNTING_HANDLER on_74, got, total
    align 8
got:    dq 0, 0, 0, 0
total:  dq 0
ready:  dq 0

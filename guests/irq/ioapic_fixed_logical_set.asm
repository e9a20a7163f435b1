; An IOAPIC entry in fixed mode with a logical destination naming two LAPICs (flat model,
; destination 06H = APs 1 and 2) delivers every edge to both (SDM Vol. 3A 10.6.2.2: fixed
; delivery goes to every LAPIC the destination matches; KVM kvm_irq_delivery_to_apic).
; Two pulses: two interrupts on each AP, none on the BSP or AP 3.  Catches: fixed logical
; delivery treated as lowest priority (one member only), logical bits decoded as an ID.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 60000000
%include "payload.inc"
%define IRQ 13
%define VEC 0x7D
PAYLOAD ioapic_fixed_logical_set, irq, long64, "an IOAPIC fixed entry to logical 06H interrupts APs 1 and 2 on every edge"
payload_main:
    SET_HANDLER VEC, on_7d
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF
    LAPIC_WR APIC_LVT0, APIC_LVT_MASKED
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 1 << 24
    IOAPIC_WR 0x11 + 2 * IRQ, 0x06 << 24                ; logical destination 06H
    IOAPIC_WR 0x10 + 2 * IRQ, VEC | (1 << 11)           ; fixed, logical, edge
    WAIT_COUNT ready, 3, 4000000000
    CHECK_EQ rax, 3, "three APs with LDR set, idle with IF=1"
    sti
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT got + 1 * 8, 2, 4000000000
    WAIT_COUNT got + 2 * 8, 2, 4000000000
    WAIT_COUNT got + 3 * 8, 1, 20000000                 ; must not come
    cli
    CHECK_EQ [got + 1 * 8], 2, "AP 1 took both edges"
    CHECK_EQ [got + 2 * 8], 2, "AP 2 took both edges"
    CHECK_EQ [got + 3 * 8], 0, "AP 3 (LDR bit 3) took none"
    CHECK_EQ [got + 0 * 8], 0, "the BSP (LDR bit 0) took none"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    FLAT_LDR_FROM_ID
    AP_IDLE_READY ready

COUNTING_HANDLER on_7d, got
    align 8
got:    dq 0, 0, 0, 0
ready:  dq 0

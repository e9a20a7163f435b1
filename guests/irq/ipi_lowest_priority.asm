; Lowest-priority delivery (ICR[10:8] = 001b) to a logical set picks exactly one LAPIC of
; the set (SDM Vol. 3A 10.6.2.4; which one is model specific: KVM arbitrates by vector
; hashing or by priority, kvm_apic_map_get_dest_lapic / kvm_irq_delivery_to_apic).  Six
; IPIs (vectors 60H..65H) to destination 0EH (APs 1-3, flat model): each arrives once in
; all, always at an AP of the set.  Catches: delivery to every member (a port that treats
; lowest priority as fixed), to none, or to the sender.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 60000000
%include "payload.inc"
PAYLOAD ipi_lowest_priority, irq, long64, "lowest-priority IPI to a logical set: exactly one member takes each"
payload_main:
%assign v 0x60
%rep 6
    SET_HANDLER v, on_lowest
%assign v v + 1
%endrep
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 1 << 24
    WAIT_COUNT ready, 3, 4000000000
    CHECK_EQ rax, 3, "three APs with LDR set, idle with IF=1"
    sti
%assign v 0x60
%rep 6
    SEND_IPI 0x0E, ICR_LOWEST | ICR_ASSERT | ICR_LOGICAL | v
    WAIT_COUNT total, v - 0x5F, 4000000000
%assign v v + 1
%endrep
    WAIT_COUNT total, 7, 20000000           ; a seventh must not come
    cli
    CHECK_EQ [total], 6, "six IPIs, six deliveries in all"
    CHECK_EQ [got + 0 * 8], 0, "none to the sender (not in the set)"
    mov rax, [got + 1 * 8]
    add rax, [got + 2 * 8]
    add rax, [got + 3 * 8]
    CHECK_EQ rax, 6, "all six taken by APs of the set"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    FLAT_LDR_FROM_ID
    AP_IDLE_READY ready

COUNTING_HANDLER on_lowest, got, total
    align 8
got:    dq 0, 0, 0, 0
total:  dq 0
ready:  dq 0

; In xAPIC physical destination mode, destination 0xFF is a broadcast to all LAPICs, the
; sender included (SDM Vol. 3A 10.6.2.1; KVM kvm_apic_broadcast / kvm_apic_match_dest).
; Catches: 0xFF treated as the APIC ID of no vCPU (nobody gets it), the sender left out.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_broadcast_physical, irq, long64, "physical destination 0xFF is a broadcast: all four vCPUs, the sender too"
payload_main:
    SET_HANDLER 0x52, on_52
    WAIT_COUNT ready, 3, 4000000000
    CHECK_EQ rax, 3, "three APs idle with IF=1"
    sti
    SEND_IPI 0xFF, ICR_FIXED | ICR_ASSERT | 0x52
    WAIT_COUNT got + 0 * 8, 1, 4000000000
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    WAIT_COUNT got + 3 * 8, 1, 4000000000
    cli
    CHECK_EQ [got + 0 * 8], 1, "the sender took the broadcast"
    CHECK_EQ [got + 1 * 8], 1, "APIC ID 1 took the broadcast"
    CHECK_EQ [got + 2 * 8], 1, "APIC ID 2 took the broadcast"
    CHECK_EQ [got + 3 * 8], 1, "APIC ID 3 took the broadcast"
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

COUNTING_HANDLER on_52, got
    align 8
got:    dq 0, 0, 0, 0
ready:  dq 0

; A fixed IPI in physical destination mode goes to the one LAPIC whose APIC ID equals
; ICR[63:56] (SDM Vol. 3A 10.6.2.1; KVM kvm_apic_match_physical_addr) and to no other.
; The BSP sends vector 0x40 to APIC ID 2, then 0x41 to APIC ID 3; each AP counts what it
; takes per vector.  Catches: an IPI delivered to the sender, to every vCPU, to vCPU
; index instead of APIC ID, or lost for an AP that is halted (the kick).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_fixed_physical, irq, long64, "fixed IPI, physical destination: only the addressed AP takes it"
payload_main:
    SET_HANDLER 0x40, on_40
    SET_HANDLER 0x41, on_41
    WAIT_COUNT ready, 3, 4000000000
    CHECK_EQ rax, 3, "three APs idle with IF=1"
    SEND_IPI 2, ICR_FIXED | ICR_ASSERT | 0x40
    WAIT_COUNT got40 + 2 * 8, 1, 4000000000
    CHECK_EQ rax, 1, "APIC ID 2 took vector 0x40 once"
    SEND_IPI 3, ICR_FIXED | ICR_ASSERT | 0x41
    WAIT_COUNT got41 + 3 * 8, 1, 4000000000
    CHECK_EQ rax, 1, "APIC ID 3 took vector 0x41 once"
    WAIT_COUNT got40 + 1 * 8, 1, 20000000       ; must not come: give it time
    CHECK_EQ [got40 + 0 * 8], 0, "the sender (APIC ID 0) did not take 0x40"
    CHECK_EQ [got40 + 1 * 8], 0, "APIC ID 1 did not take 0x40"
    CHECK_EQ [got40 + 3 * 8], 0, "APIC ID 3 did not take 0x40"
    CHECK_EQ [got41 + 1 * 8], 0, "APIC ID 1 did not take 0x41"
    CHECK_EQ [got41 + 2 * 8], 0, "APIC ID 2 did not take 0x41"
    CHECK_EQ [got40 + 2 * 8], 1, "APIC ID 2 took 0x40 exactly once"
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

COUNTING_HANDLER on_40, got40
COUNTING_HANDLER on_41, got41
    align 8
got40:  dq 0, 0, 0, 0
got41:  dq 0, 0, 0, 0
ready:  dq 0

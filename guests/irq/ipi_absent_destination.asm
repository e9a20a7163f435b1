; A fixed IPI to an APIC ID no vCPU has (5, with vCPUs 0..1) is delivered to nobody
; (SDM Vol. 3A 10.6.2.1: only a LAPIC whose ID matches accepts it).  Then a self-check
; that delivery still works: the same vector to APIC ID 1 arrives once.  Catches: an
; out-of-range ID wrapped or masked onto an existing vCPU (5 & 3 = 1), a crash on it.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_absent_destination, irq, long64, "a fixed IPI to an APIC ID no vCPU has reaches nobody"
payload_main:
    SET_HANDLER 0x53, on_53
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP idle with IF=1"
    sti
    SEND_IPI 5, ICR_FIXED | ICR_ASSERT | 0x53
    WAIT_COUNT got + 1 * 8, 1, 20000000     ; must not come
    CHECK_EQ [got + 1 * 8], 0, "APIC ID 1 did not take an IPI for APIC ID 5"
    CHECK_EQ [got + 0 * 8], 0, "the sender did not take it"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x53
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    CHECK_EQ rax, 1, "the same vector to APIC ID 1 arrives once"
    cli
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

COUNTING_HANDLER on_53, got
    align 8
got:    dq 0, 0
ready:  dq 0

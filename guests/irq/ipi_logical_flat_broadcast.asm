; A logical destination of FFH is a broadcast (SDM Vol. 3A 10.6.2.2: all eight bits set
; address all local APICs), and KVM delivers it to every LAPIC before looking at LDR
; (lapic.c kvm_apic_match_logical_addr -> kvm_apic_broadcast), so a LAPIC whose LDR is 0,
; which no other logical destination can reach, takes it too, as does the sender.  vCPUs 0
; and 1 set LDR bits, vCPU 2 leaves LDR = 0; destination 02H reaches vCPU 1 only.
; Catches: FFH matched as a plain MDA & LDR (vCPU 2 would miss it), the sender excluded.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_logical_flat_broadcast, irq, long64, "logical FFH is a broadcast: every vCPU, one with LDR 0 too; 02H only LDR bit 1"
payload_main:
    SET_HANDLER 0x56, on_56
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 1 << 24
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs idle with IF=1 (AP 2 with LDR 0)"
    sti
    SEND_IPI 0xFF, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x56
    WAIT_COUNT got + 0 * 8, 1, 4000000000
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    CHECK_EQ [got + 0 * 8], 1, "FFH: the sender (LDR bit 0) took it"
    CHECK_EQ [got + 1 * 8], 1, "FFH: AP 1 (LDR bit 1) took it"
    CHECK_EQ [got + 2 * 8], 1, "FFH: AP 2 (LDR 0) took it too"
    SEND_IPI 0x02, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x56
    WAIT_COUNT got + 1 * 8, 2, 4000000000
    WAIT_COUNT got + 2 * 8, 2, 20000000     ; must not come
    cli
    CHECK_EQ [got + 1 * 8], 2, "02H: AP 1 took it"
    CHECK_EQ [got + 2 * 8], 1, "02H: AP 2 (LDR 0) did not"
    CHECK_EQ [got + 0 * 8], 1, "02H: the sender did not"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    LAPIC_WR APIC_DFR, DFR_FLAT
    cmp edi, 1
    jne .noLDR
    LAPIC_WR APIC_LDR, 2 << 24
.noLDR:
    AP_IDLE_READY ready

COUNTING_HANDLER on_56, got
    align 8
got:    dq 0, 0, 0
ready:  dq 0

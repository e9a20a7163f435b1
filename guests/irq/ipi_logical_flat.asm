; Logical destination, flat model (DFR = FFFFFFFFH): a LAPIC accepts when ICR[63:56] AND
; its LDR[31:24] is not zero (SDM Vol. 3A 10.6.2.2).  Each vCPU n sets LDR = 1 << (24+n);
; destination 0AH reaches APIC IDs 1 and 3 only, destination 01H the sender itself.
; Catches: logical destinations matched as physical IDs (0AH = no vCPU), a mask compared
; for equality, DFR ignored, the sender's own bit ignored.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_logical_flat, irq, long64, "logical flat destination 0AH reaches LDR bits 1 and 3 only"
payload_main:
    SET_HANDLER 0x54, on_54
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 1 << 24
    WAIT_COUNT ready, 3, 4000000000
    CHECK_EQ rax, 3, "three APs with LDR set, idle with IF=1"
    sti
    SEND_IPI 0x0A, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x54
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    WAIT_COUNT got + 3 * 8, 1, 4000000000
    WAIT_COUNT got + 2 * 8, 1, 20000000     ; must not come
    CHECK_EQ [got + 1 * 8], 1, "LDR bit 1 (APIC ID 1) took it"
    CHECK_EQ [got + 3 * 8], 1, "LDR bit 3 (APIC ID 3) took it"
    CHECK_EQ [got + 2 * 8], 0, "LDR bit 2 (APIC ID 2) did not"
    CHECK_EQ [got + 0 * 8], 0, "the sender (LDR bit 0) did not"
    SEND_IPI 0x01, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x54
    WAIT_COUNT got + 0 * 8, 1, 4000000000
    cli
    CHECK_EQ [got + 0 * 8], 1, "destination 01H reached the sender itself"
    CHECK_EQ [got + 1 * 8], 1, "and not APIC ID 1 again"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    FLAT_LDR_FROM_ID
    AP_IDLE_READY ready

COUNTING_HANDLER on_54, got
    align 8
got:    dq 0, 0, 0, 0
ready:  dq 0

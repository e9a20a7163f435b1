; Logical destination, cluster model (DFR = 0FFFFFFFH): ICR[63:60] names a cluster that
; must equal LDR[31:28], and ICR[59:56] AND LDR[27:24] must not be zero (SDM Vol. 3A
; 10.6.2.2).  vCPUs 0,1 are cluster 0 and vCPUs 2,3 cluster 1, each pair with
; member bits 0,1 (LDR[31:24] = 01H, 02H, 11H, 12H).  Destination 12H reaches vCPU 3
; only; 11H vCPU 2 only; 03H vCPUs 0 and 1.  Catches: the cluster model read as flat (12H
; would reach vCPUs 1, 2 and 3), the cluster number ignored (12H would reach vCPU 1 too).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_logical_cluster, irq, long64, "logical cluster destinations: cluster in bits 7:4, members in 3:0"
payload_main:
    SET_HANDLER 0x55, on_55
    LAPIC_WR APIC_DFR, DFR_CLUSTER
    LAPIC_WR APIC_LDR, 0x01 << 24           ; cluster 0, member bit 0
    WAIT_COUNT ready, 3, 4000000000
    CHECK_EQ rax, 3, "three APs with LDR set, idle with IF=1"
    sti
    SEND_IPI 0x12, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x55
    WAIT_COUNT got + 3 * 8, 1, 4000000000
    WAIT_COUNT got + 1 * 8, 1, 20000000     ; must not come
    CHECK_EQ [got + 3 * 8], 1, "12H: cluster 1 member 2 (vCPU 3) took it"
    CHECK_EQ [got + 1 * 8], 0, "12H: cluster 0 member 2 (vCPU 1) did not"
    CHECK_EQ [got + 2 * 8], 0, "12H: cluster 1 member 1 (vCPU 2) did not"
    SEND_IPI 0x11, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x55
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    CHECK_EQ [got + 2 * 8], 1, "11H: cluster 1 member 1 (vCPU 2) took it"
    SEND_IPI 0x03, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x55
    WAIT_COUNT got + 0 * 8, 1, 4000000000
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    WAIT_COUNT got + 3 * 8, 2, 20000000     ; must not come
    cli
    CHECK_EQ [got + 0 * 8], 1, "03H: cluster 0 member 0 (the sender) took it"
    CHECK_EQ [got + 1 * 8], 1, "03H: cluster 0 member 1 (vCPU 1) took it"
    CHECK_EQ [got + 3 * 8], 1, "03H: nothing more for cluster 1"
    CHECK_EQ [got + 2 * 8], 1, "03H: nothing more for vCPU 2"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID 1..3
    LAPIC_WR APIC_DFR, DFR_CLUSTER
    movzx eax, byte [ldr_of + rdi]
    shl eax, 24
    mov ebx, LAPIC_BASE
    mov [rbx + APIC_LDR], eax
    AP_IDLE_READY ready

COUNTING_HANDLER on_55, got
    align 8
got:    dq 0, 0, 0, 0
ready:  dq 0
ldr_of: db 0x01, 0x02, 0x11, 0x12   ; LDR[31:24] of vCPU 0..3

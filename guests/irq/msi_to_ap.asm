; KVM_SIGNAL_MSI (host request 6) with destination ID 1 in address bits 19:12 delivers
; the vector in data bits 7:0 to that AP (SDM Vol. 3A 10.11.1, 10.11.2; KVM
; kvm_send_userspace_msi -> kvm_set_msi_irq); with delivery mode NMI (data bits 10:8 =
; 100b) it is an NMI on the AP; with logical destination mode (address bit 2) and the
; flat model it reaches the AP whose LDR bit matches.  Catches: MSIs always to vCPU 0,
; the destination read from the wrong address bits, the delivery mode or DM ignored.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD msi_to_ap, irq, long64, "KVM_SIGNAL_MSI to APIC ID 1: fixed, NMI, then logical to LDR bit 2"
payload_main:
    SET_HANDLER 0x66, on_66
    SET_HANDLER VEC_NMI, on_nmi
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 1 << 24
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs with LDR set, idle with IF=1"
    HOST_REQUEST HOST_MSI, (1 << 8) | 0x66               ; fixed, physical, ID 1
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    CHECK_EQ rax, 1, "the MSI for APIC ID 1 reached AP 1"
    HOST_REQUEST HOST_MSI, (4 << 16) | (1 << 8)          ; NMI, physical, ID 1
    WAIT_COUNT nmis + 1 * 8, 1, 4000000000
    CHECK_EQ rax, 1, "the NMI MSI reached AP 1 as an NMI"
    HOST_REQUEST HOST_MSI, (1 << 19) | (4 << 8) | 0x66   ; fixed, logical, LDR bit 2
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    CHECK_EQ rax, 1, "the logical MSI for LDR bit 2 reached AP 2"
    WAIT_COUNT got, 1, 20000000                          ; must not come
    CHECK_EQ [got + 0 * 8], 0, "the BSP took no MSI"
    CHECK_EQ [got + 1 * 8], 1, "AP 1 took exactly one fixed MSI"
    CHECK_EQ [nmis + 2 * 8], 0, "AP 2 took no NMI"
    CHECK_EQ [nmis + 0 * 8], 0, "the BSP took no NMI"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    FLAT_LDR_FROM_ID
    AP_IDLE_READY ready

COUNTING_HANDLER on_66, got
COUNTING_NMI_HANDLER on_nmi, nmis
    align 8
got:    dq 0, 0, 0
nmis:   dq 0, 0, 0
ready:  dq 0

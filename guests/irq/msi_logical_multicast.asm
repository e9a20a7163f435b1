; An MSI in logical flat mode with two bits in its destination is a multicast: fixed
; delivery reaches every LAPIC whose LDR matches (SDM Vol. 3A 10.11.1 and 10.6.2.2; Linux
; 6.1 irq_comm.c kvm_set_msi -> kvm_irq_delivery_to_apic; lapic.c
; kvm_apic_match_logical_addr).  APs 1 and 2 set flat LDR bits 1 and 2, the BSP bit 0;
; an MSI to 06H reaches both APs once and not the BSP; an MSI to 07H reaches all three.
; Catches: a multicast delivered to the lowest bit only, or to the first match.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD msi_logical_multicast, irq, long64, "KVM_SIGNAL_MSI, logical flat 06H: both APs take it once, the BSP not; 07H reaches all"
payload_main:
    SET_HANDLER 0x67, on_67
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 1 << 24
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs with LDR set, idle with IF=1"
    HOST_REQUEST HOST_MSI, (1 << 19) | (6 << 8) | 0x67   ; fixed, logical, 06H
    WAIT_COUNT total, 2, 4000000000
    CHECK_EQ rax, 2, "two deliveries for destination 06H"
    CHECK_EQ [got + 8], 1, "AP 1 (LDR bit 1) took it"
    CHECK_EQ [got + 16], 1, "AP 2 (LDR bit 2) took it"
    LAPIC_RD APIC_IRR + (0x67 / 32) * 0x10
    and eax, 1 << (0x67 % 32)
    CHECK_EQ eax, 0, "the BSP (LDR bit 0, IF=0) has no 67H pending in IRR"
    sti
    HOST_REQUEST HOST_MSI, (1 << 19) | (7 << 8) | 0x67   ; 07H: all three
    WAIT_COUNT total, 5, 4000000000
    cli
    CHECK_EQ rax, 5, "three more for destination 07H"
    CHECK_EQ [got], 1, "the BSP took only the one for 07H"
    PAYLOAD_DONE

payload_ap_main:
    FLAT_LDR_FROM_ID
    AP_IDLE_READY ready

COUNTING_HANDLER on_67, got, total
    align 8
ready:  dq 0
total:  dq 0
got:    dq 0, 0, 0

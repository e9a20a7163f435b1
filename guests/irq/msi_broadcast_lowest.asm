; KVM_SIGNAL_MSI with physical destination FFH is a broadcast: every vCPU takes it (KVM
; kvm_set_msi_irq -> kvm_irq_delivery_to_apic, kvm_apic_match_dest -> kvm_apic_broadcast);
; an MSI in lowest-priority mode (data bits 10:8 = 001b) to logical 06H (APs 1 and 2) is
; taken by exactly one of them, three times over (each sent after the last arrived: two
; MSIs of one vector pending on one LAPIC merge in its IRR).  Catches: FFH matched as an APIC ID
; (nobody), MSI lowest priority delivered to every member or to the BSP.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 60000000
%include "payload.inc"
PAYLOAD msi_broadcast_lowest, irq, long64, "MSI to physical FFH reaches all three vCPUs; lowest priority to 06H one AP each"
payload_main:
    SET_HANDLER 0x5D, on_5d
    SET_HANDLER 0x5E, on_5e
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 1 << 24
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs with LDR set, idle with IF=1"
    sti
    HOST_REQUEST HOST_MSI, (0xFF << 8) | 0x5D           ; fixed, physical FFH
    WAIT_COUNT bcast + 0 * 8, 1, 4000000000
    WAIT_COUNT bcast + 1 * 8, 1, 4000000000
    WAIT_COUNT bcast + 2 * 8, 1, 4000000000
    CHECK_EQ [bcast + 0 * 8], 1, "broadcast MSI: the BSP took it"
    CHECK_EQ [bcast + 1 * 8], 1, "broadcast MSI: AP 1 took it"
    CHECK_EQ [bcast + 2 * 8], 1, "broadcast MSI: AP 2 took it"
%assign k 1
%rep 3                          ; one at a time: a second MSI of the vector would merge in IRR
    HOST_REQUEST HOST_MSI, (1 << 19) | (1 << 16) | (0x06 << 8) | 0x5E
    WAIT_COUNT lowest_total, k, 4000000000
%assign k k + 1
%endrep
    WAIT_COUNT lowest_total, 4, 20000000                ; a fourth must not come
    cli
    CHECK_EQ [lowest_total], 3, "three lowest-priority MSIs, three deliveries"
    CHECK_EQ [lowest + 0 * 8], 0, "none to the BSP (not in 06H)"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    FLAT_LDR_FROM_ID
    AP_IDLE_READY ready

COUNTING_HANDLER on_5d, bcast
COUNTING_HANDLER on_5e, lowest, lowest_total
    align 8
bcast:        dq 0, 0, 0
lowest:       dq 0, 0, 0
lowest_total: dq 0
ready:        dq 0

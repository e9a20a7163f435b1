; An NMI IPI with the all-excluding-self shorthand (ICR[19:18] = 11b, delivery mode 100b)
; reaches every other vCPU as an NMI, whatever their IF, and not the sender (SDM Vol. 3A
; 10.6.1; KVM __apic_accept_irq APIC_DM_NMI).  Two APs spin with IF=0.  Catches: NMI
; shorthands not expanded, the sender NMIed, NMIs to a running (not halted) vCPU lost.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD nmi_all_excluding_self, irq, long64, "an NMI IPI to all excluding self reaches both APs, not the sender"
payload_main:
    SET_HANDLER VEC_NMI, on_nmi
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs spinning with IF=0"
    SEND_IPI 0, ICR_NMI | ICR_ASSERT | ICR_OTHERS
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    WAIT_COUNT got + 0 * 8, 1, 20000000     ; must not come
    CHECK_EQ [got + 1 * 8], 1, "APIC ID 1 took the NMI"
    CHECK_EQ [got + 2 * 8], 1, "APIC ID 2 took the NMI"
    CHECK_EQ [got + 0 * 8], 0, "the sender took none"
    PAYLOAD_DONE

payload_ap_main:
    cli
    AP_READY ready
.spin:
    pause
    jmp .spin

COUNTING_NMI_HANDLER on_nmi, got
    align 8
got:    dq 0, 0, 0
ready:  dq 0

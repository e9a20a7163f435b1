; A LAPIC that is software-disabled (SVR bit 8 = 0) does not accept fixed interrupts: a
; fixed IPI to it is dropped, not held until it is enabled again; NMI and INIT still
; reach it (SDM Vol. 3A 10.4.7.2; KVM __apic_accept_irq: APIC_DM_FIXED breaks out when
; !apic_enabled, APIC_DM_NMI does not look).  The AP disables its LAPIC, the BSP sends
; vector 4AH, then an NMI; the AP enables its LAPIC again and waits with IF=1.
; Catches: fixed IPIs queued in a disabled LAPIC and delivered on enable, NMIs dropped.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_to_disabled_lapic, irq, long64, "a fixed IPI to a software-disabled LAPIC is dropped; an NMI is taken"
payload_main:
    SET_HANDLER 0x4A, on_4a
    SET_HANDLER VEC_NMI, on_nmi
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP with SVR.enable = 0, IF=1"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x4A
    SEND_IPI 1, ICR_NMI | ICR_ASSERT
    WAIT_COUNT nmis + 8, 1, 4000000000
    CHECK_EQ rax, 1, "the disabled LAPIC's vCPU took the NMI"
    mov qword [enable], 1
    WAIT_COUNT enabled, 1, 4000000000
    CHECK_EQ rax, 1, "the AP enabled its LAPIC again"
    WAIT_COUNT got + 8, 1, 20000000             ; must not come
    CHECK_EQ [got + 8], 0, "the fixed IPI sent while disabled was dropped, not held"
    CHECK_EQ [irr_while_disabled], 0, "and never reached the IRR"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x4A
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "once enabled, the AP takes 4AH"
    PAYLOAD_DONE

payload_ap_main:
    LAPIC_WR APIC_SVR, 0xFF                     ; software-disabled
    sti
    AP_READY ready
    WAIT_FLAG enable
    LAPIC_RD APIC_IRR + (0x4A / 32) * 0x10
    shr eax, 0x4A % 32
    and eax, 1
    mov [irr_while_disabled], rax
    LAPIC_WR APIC_SVR, 0x1FF
    lock inc qword [enabled]
.idle:
    hlt
    jmp .idle

COUNTING_HANDLER on_4a, got
COUNTING_NMI_HANDLER on_nmi, nmis
    align 8
got:    dq 0, 0
nmis:   dq 0, 0
ready:  dq 0
enable: dq 0
enabled: dq 0
irr_while_disabled: dq -1

; The AP's own TPR decides what it takes (SDM Vol. 3A 10.8.3.1): with TPR = 50H an IPI of
; vector 45H (class 4) stays in the AP's IRR although IF=1; when the AP lowers TPR to 0
; it is taken at once.  Catches: the sender's TPR used instead of the target's, TPR
; ignored for IPIs, a held interrupt not re-evaluated when TPR drops.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_tpr_holds_on_ap, irq, long64, "an AP's TPR 50H holds IPI vector 45H until the AP lowers it"
payload_main:
    SET_HANDLER 0x45, on_45
    LAPIC_WR APIC_TPR, 0                    ; the sender's TPR is not the AP's
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP with TPR = 50H, IF=1"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x45
    WAIT_COUNT got + 8, 1, 20000000         ; must not come
    CHECK_EQ [got + 8], 0, "45H held by the AP's TPR 50H"
    mov qword [lower], 1
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "taken once the AP set TPR = 0"
    CHECK_EQ [irr_before], 1, "it waited in the AP's IRR"
    PAYLOAD_DONE

payload_ap_main:
    LAPIC_WR APIC_TPR, 0x50
    sti
    AP_READY ready
    WAIT_FLAG lower
    LAPIC_RD APIC_IRR + (0x45 / 32) * 0x10
    shr eax, 0x45 % 32
    and eax, 1
    mov [irr_before], rax
    LAPIC_WR APIC_TPR, 0
.idle:
    hlt
    jmp .idle

COUNTING_HANDLER on_45, got
    align 8
got:    dq 0, 0
ready:  dq 0
lower:  dq 0
irr_before: dq -1

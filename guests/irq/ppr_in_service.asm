; PPR while a vector is in service (SDM Vol. 3A 10.8.3.1): PPR[7:4] = max(TPR[7:4],
; ISRV[7:4]), and PPR[3:0] = TPR[3:0] when TPR[7:4] >= ISRV[7:4], else 0.  In the handler
; of 65H: with TPR = 32H, PPR = 60H; with TPR = 75H, PPR = 75H; with TPR = 68H, PPR = 68H.
; After the EOI, PPR = TPR again.  Catches: PPR computed from TPR alone (in-service vectors
; not blocking their class), the low nibble kept from TPR when ISRV wins.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ppr_in_service, irq, long64, "PPR = max(TPR class, in-service class), low nibble from TPR only when TPR wins"
payload_main:
    SET_HANDLER 0x65, on_65
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_TPR, 0x32
    sti
    SELF_IPI 0x65
    WAIT_COUNT done, 1, 20000000
    cli
    CHECK_EQ rax, 1, "vector 65H taken"
    CHECK_EQ [ppr_a], 0x60, "TPR 32H, 65H in service: PPR 60H"
    CHECK_EQ [ppr_b], 0x75, "TPR 75H, 65H in service: PPR 75H"
    CHECK_EQ [ppr_c], 0x68, "TPR 68H (same class as 65H): PPR 68H"
    LAPIC_RD APIC_PPR
    CHECK_EQ eax, 0x68, "after the EOI: PPR = TPR 68H"
    LAPIC_WR APIC_TPR, 0
    PAYLOAD_DONE
on_65:
    push rax
    LAPIC_RD APIC_PPR
    mov [ppr_a], rax
    LAPIC_WR APIC_TPR, 0x75
    LAPIC_RD APIC_PPR
    mov [ppr_b], rax
    LAPIC_WR APIC_TPR, 0x68
    LAPIC_RD APIC_PPR
    mov [ppr_c], rax
    LAPIC_WR APIC_EOI, 0
    inc qword [done]
    pop rax
    iretq
    align 8
done:   dq 0
ppr_a:  dq -1
ppr_b:  dq -1
ppr_c:  dq -1

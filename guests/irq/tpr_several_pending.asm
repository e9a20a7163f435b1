; TPR with several pending vectors (SDM Vol. 3A 10.8.3.1): a fixed interrupt is delivered
; only if its priority class (vector[7:4]) is above PPR[7:4], and PPR = TPR with nothing in
; service.  Self IPIs 35H, 45H and 55H are sent with IF=0 and TPR = 40H: after STI only
; 55H comes (45H has class 4, not above 4); lowering TPR to 30H releases 45H but not 35H;
; TPR = 0 releases 35H.  Catches: TPR compared with the whole vector (45H > 40H would be
; delivered), pending vectors delivered in arrival order, a held vector not re-evaluated
; when TPR drops.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD tpr_several_pending, irq, long64, "TPR 40H holds 45H and 35H; 30H releases 45H only; 0 releases 35H"
payload_main:
    SET_HANDLER 0x35, on_35
    SET_HANDLER 0x45, on_45
    SET_HANDLER 0x55, on_55
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_TPR, 0x40
    SELF_IPI 0x35
    SELF_IPI 0x45
    SELF_IPI 0x55
    LAPIC_RD APIC_PPR
    CHECK_EQ eax, 0x40, "PPR = TPR 40H with nothing in service"
    sti
    WAIT_COUNT taken, 1, 20000000
    WAIT_COUNT taken, 2, 5000000            ; must not come: 45H and 35H are held
    CHECK_EQ [taken], 1, "TPR 40H: one vector delivered"
    CHECK_EQ [order + 0], 0x55, "it is 55H (class 5 above 4)"
    LAPIC_WR APIC_TPR, 0x30
    WAIT_COUNT taken, 2, 20000000
    WAIT_COUNT taken, 3, 5000000            ; must not come: 35H is held
    CHECK_EQ [taken], 2, "TPR 30H: one more"
    CHECK_EQ [order + 8], 0x45, "it is 45H (class 4 above 3); 35H still held"
    LAPIC_WR APIC_TPR, 0
    WAIT_COUNT taken, 3, 20000000
    cli
    CHECK_EQ rax, 3, "TPR 0: the last one"
    CHECK_EQ [order + 16], 0x35, "it is 35H"
    PAYLOAD_DONE
on_35:
    push rax
    mov eax, 0x35
    jmp record
on_45:
    push rax
    mov eax, 0x45
    jmp record
on_55:
    push rax
    mov eax, 0x55
record:
    push rbx
    mov rbx, [taken]
    mov [order + rbx * 8], rax
    inc qword [taken]
    LAPIC_WR APIC_EOI, 0
    pop rbx
    pop rax
    iretq
    align 8
taken:  dq 0
order:  dq 0, 0, 0, 0

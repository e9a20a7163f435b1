; Three fixed IPIs with the same vector to an AP with IF=0 set one IRR bit; STI takes the
; vector once (SDM Vol. 3A 10.8.4: IRR holds one bit per vector, a second request for a
; pending vector is merged).  Catches: a port that queues interrupts as a list or counts
; them (three deliveries), or loses the pending one.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_coalesced_in_irr, irq, long64, "three IPIs of one vector to an AP with IF=0 are taken once"
payload_main:
    SET_HANDLER 0x58, on_58
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP spinning with IF=0"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x58
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x58
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x58
    mov qword [sent], 1
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "the AP took 58H after STI"
    WAIT_COUNT got + 8, 2, 20000000         ; a second delivery must not come
    CHECK_EQ [got + 8], 1, "taken once: the three requests merged in IRR"
    PAYLOAD_DONE

payload_ap_main:
    cli
    AP_READY ready
    WAIT_FLAG sent
    WAIT_IRR 0x58
    sti
.idle:
    hlt
    jmp .idle

COUNTING_HANDLER on_58, got
    align 8
got:    dq 0, 0
ready:  dq 0
sent:   dq 0

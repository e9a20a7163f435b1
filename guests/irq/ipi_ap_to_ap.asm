; An IPI between two APs: AP 1 sends vector 5CH to APIC ID 2, which takes it; neither the
; BSP nor the sender does (SDM Vol. 3A 10.6.1).  Catches: IPIs routed only to or from
; vCPU 0, the destination taken as a vCPU index relative to the sender.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_ap_to_ap, irq, long64, "AP 1 sends AP 2 an IPI; only AP 2 takes it"
payload_main:
    SET_HANDLER 0x5C, on_5c
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs idle with IF=1"
    sti
    mov qword [go], 1
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    CHECK_EQ rax, 1, "AP 2 took 5CH from AP 1"
    WAIT_COUNT got + 1 * 8, 1, 20000000     ; must not come
    cli
    CHECK_EQ [got + 1 * 8], 0, "the sender (AP 1) did not take it"
    CHECK_EQ [got + 0 * 8], 0, "the BSP did not take it"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    sti
    AP_READY ready
    cmp edi, 1
    jne .idle
    WAIT_FLAG go
    SEND_IPI 2, ICR_FIXED | ICR_ASSERT | 0x5C
.idle:
    hlt
    jmp .idle

COUNTING_HANDLER on_5c, got
    align 8
got:    dq 0, 0, 0
ready:  dq 0
go:     dq 0

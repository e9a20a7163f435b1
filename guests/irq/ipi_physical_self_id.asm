; A fixed IPI with no shorthand whose physical destination is the sender's own APIC ID is
; delivered to the sender alone (SDM Vol. 3A 10.6.2.1; KVM takes it through the same
; destination map as any other ID).  AP 1 sends to ID 1; the BSP sends to ID 0.  Catches:
; a sender excluded from its own physical destination (a port that only delivers self IPIs
; for the self shorthand), delivery to other vCPUs.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_physical_self_id, irq, long64, "a physical IPI to the sender's own APIC ID reaches the sender only"
payload_main:
    SET_HANDLER 0x5F, on_5f
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs idle with IF=1"
    sti
    SEND_IPI 0, ICR_FIXED | ICR_ASSERT | 0x5F
    WAIT_COUNT got + 0 * 8, 1, 4000000000
    CHECK_EQ rax, 1, "the BSP took its IPI to ID 0"
    mov qword [go], 1
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    CHECK_EQ rax, 1, "AP 1 took its IPI to ID 1"
    WAIT_COUNT got + 2 * 8, 1, 20000000     ; must not come
    cli
    CHECK_EQ [got + 2 * 8], 0, "AP 2 took none"
    CHECK_EQ [got + 0 * 8], 1, "the BSP took only its own"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    sti
    AP_READY ready
    cmp edi, 1
    jne .idle
    WAIT_FLAG go
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x5F
.idle:
    hlt
    jmp .idle

COUNTING_HANDLER on_5f, got
    align 8
got:    dq 0, 0, 0
ready:  dq 0
go:     dq 0

; IPIs go both ways: an AP sends fixed vector 5AH to APIC ID 0 and the BSP, waiting with
; IF=1, takes it (SDM Vol. 3A 10.6.1: any LAPIC may send).  Then the AP sends itself 5BH
; with the self shorthand; only the AP takes it.  Catches: ICR writes of APs ignored or
; sent with the BSP as source (a self IPI landing on vCPU 0), sends only working from
; vCPU 0.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_ap_to_bsp, irq, long64, "an AP sends the BSP an IPI and itself a self IPI"
payload_main:
    SET_HANDLER 0x5A, on_5a
    SET_HANDLER 0x5B, on_5b
    sti
    mov qword [go], 1
    WAIT_COUNT got5a, 1, 4000000000
    CHECK_EQ rax, 1, "the BSP took 5AH from the AP"
    WAIT_COUNT got5b + 8, 1, 4000000000
    CHECK_EQ rax, 1, "the AP took its own self IPI 5BH"
    WAIT_COUNT got5b, 1, 20000000           ; must not come
    cli
    CHECK_EQ [got5b], 0, "the AP's self IPI did not reach the BSP"
    CHECK_EQ [got5a + 8], 0, "5AH did not reach the AP that sent it"
    PAYLOAD_DONE

payload_ap_main:
    sti
    WAIT_FLAG go
    SEND_IPI 0, ICR_FIXED | ICR_ASSERT | 0x5A
    LAPIC_WR APIC_ICR_LO, ICR_FIXED | ICR_ASSERT | ICR_SELF | 0x5B
.idle:
    hlt
    jmp .idle

COUNTING_HANDLER on_5a, got5a
COUNTING_HANDLER on_5b, got5b
    align 8
got5a:  dq 0, 0
got5b:  dq 0, 0
go:     dq 0

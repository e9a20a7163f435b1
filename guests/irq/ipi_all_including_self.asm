; Destination shorthand "all including self" (ICR[19:18] = 10b, SDM Vol. 3A 10.6.1): one
; IPI reaches every LAPIC, the sender's too.  Catches: the sender left out (a port that
; treats it as all-excluding), an AP skipped, the self copy delivered twice.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_all_including_self, irq, long64, "shorthand all-including-self: every vCPU once, the sender too"
payload_main:
    SET_HANDLER 0x51, on_51
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs idle with IF=1"
    sti
    SEND_IPI 0, ICR_FIXED | ICR_ASSERT | ICR_ALL | 0x51
    WAIT_COUNT got + 0 * 8, 1, 4000000000
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    WAIT_COUNT got + 0 * 8, 2, 20000000     ; a second copy must not come
    cli
    CHECK_EQ [got + 0 * 8], 1, "the sender took it once"
    CHECK_EQ [got + 1 * 8], 1, "APIC ID 1 took it once"
    CHECK_EQ [got + 2 * 8], 1, "APIC ID 2 took it once"
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

COUNTING_HANDLER on_51, got
    align 8
got:    dq 0, 0, 0
ready:  dq 0

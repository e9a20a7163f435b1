; Destination shorthand "all excluding self" (ICR[19:18] = 11b, SDM Vol. 3A 10.6.1) sends
; the IPI to every other LAPIC and not to the sender, whatever ICR[63:56] holds (here
; 0x00, the sender's own ID, which a port that ignores the shorthand would use).
; Catches: the shorthand ignored, the sender included, an AP skipped.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_all_excluding_self, irq, long64, "shorthand all-excluding-self: every AP once, never the sender"
payload_main:
    SET_HANDLER 0x50, on_50
    WAIT_COUNT ready, 3, 4000000000
    CHECK_EQ rax, 3, "three APs idle with IF=1"
    sti                                     ; the sender could take it: it must not
    SEND_IPI 0, ICR_FIXED | ICR_ASSERT | ICR_OTHERS | 0x50
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    WAIT_COUNT got + 3 * 8, 1, 4000000000
    WAIT_COUNT got + 0 * 8, 1, 20000000     ; must not come
    cli
    CHECK_EQ [got + 1 * 8], 1, "APIC ID 1 took it once"
    CHECK_EQ [got + 2 * 8], 1, "APIC ID 2 took it once"
    CHECK_EQ [got + 3 * 8], 1, "APIC ID 3 took it once"
    CHECK_EQ [got + 0 * 8], 0, "the sender did not take it"
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

COUNTING_HANDLER on_50, got
    align 8
got:    dq 0, 0, 0, 0
ready:  dq 0

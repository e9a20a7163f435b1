; Rewriting an IOAPIC redirection entry's destination moves the next interrupt (82093AA
; redirection table; Linux 6.1 ioapic.c ioapic_write_indirect recomputes the routing,
; kvm_ioapic_scan_entry / kvm_make_scan_ioapic_request).  Pin 5, edge, fixed, vector 55H:
; first to APIC ID 1, then ID 2 (high dword only), then ID 1 again; each pulse reaches the
; one AP named at that moment.  Catches: a destination cached at the first delivery or
; at unmask, a half-written entry (high dword) ignored.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%include "payload.inc"
%define PIN 5
PAYLOAD ioapic_dest_rewrite, irq, long64, "rewriting an IOAPIC entry's destination (high dword) moves the next edge to the new AP"
payload_main:
    SET_HANDLER 0x55, on_55
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs idle with IF=1"
    IOAPIC_WR 0x11 + 2 * PIN, 1 << 24
    IOAPIC_WR 0x10 + 2 * PIN, 0x55      ; fixed, physical, edge, unmasked
    HOST_REQUEST HOST_IRQ_PULSE, PIN
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "to ID 1: AP 1 took it"
    IOAPIC_WR 0x11 + 2 * PIN, 2 << 24
    HOST_REQUEST HOST_IRQ_PULSE, PIN
    WAIT_COUNT got + 16, 1, 4000000000
    CHECK_EQ rax, 1, "after the rewrite to ID 2: AP 2 took it"
    IOAPIC_WR 0x11 + 2 * PIN, 1 << 24
    HOST_REQUEST HOST_IRQ_PULSE, PIN
    WAIT_COUNT got + 8, 2, 4000000000
    CHECK_EQ rax, 2, "back to ID 1: AP 1 took the third"
    WAIT_COUNT total, 4, 20000000      ; must not come
    CHECK_EQ [got + 16], 1, "AP 2 took only the second"
    CHECK_EQ [got], 0, "the BSP took none"
    CHECK_EQ [total], 3, "three pulses, three interrupts"
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

COUNTING_HANDLER on_55, got, total
    align 8
ready:  dq 0
total:  dq 0
got:    dq 0, 0, 0

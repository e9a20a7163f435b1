; A level-triggered IOAPIC interrupt asserted while its entry is masked is not lost: the
; line stays high, and unmasking the entry delivers it (82093AA: a level input is sampled
; as long as it is asserted; Linux 6.1 ioapic.c ioapic_write_indirect services a level
; entry on unmask when its IRR bit is set and Remote IRR is clear).  Exactly one delivery
; until the EOI; after the EOI with the line low, none.  The edge counterpart, lost while
; masked, is ioapic_masked_edge_lost.  Catches: a level line dropped while masked, a
; delivery at unmask repeated before the EOI.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
%define PIN 9
%define VEC 0x59
PAYLOAD ioapic_masked_level_held, irq, long64, "a level IOAPIC line raised while masked is delivered once when unmasked"
payload_main:
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF     ; the GSI reaches the 8259 too: mask it there
    IOAPIC_WR 0x11 + 2 * PIN, 0
    IOAPIC_WR 0x10 + 2 * PIN, VEC | (1 << 15) | (1 << 16)   ; level, masked
    sti
    HOST_REQUEST HOST_IRQ_HIGH, PIN
    WAIT_COUNT count, 1, 20000000      ; must not come: masked
    CHECK_EQ [count], 0, "no delivery while the entry is masked"
    IOAPIC_WR 0x10 + 2 * PIN, VEC | (1 << 15)               ; unmask
    WAIT_COUNT count, 1, 4000000000
    ; At least once: how often is the next check's. An implementation that delivers twice
    ; (kvm_pvm) may have done both before the wait reads the count.
    CHECK_GE rax, 1, "delivered when unmasked (the line is still high)"
    WAIT_COUNT count, 2, 20000000      ; must not come before the EOI
    cli
    CHECK_EQ [count], 1, "once: Remote IRR holds it until the EOI"
    HOST_REQUEST HOST_IRQ_LOW, PIN
    LAPIC_WR APIC_EOI, 0
    sti
    WAIT_COUNT count, 2, 20000000      ; must not come: the line is low
    cli
    CHECK_EQ [count], 1, "none after the EOI with the line low"
    PAYLOAD_DONE

isr:                            ; no EOI: the payload sends it
    lock inc qword [count]
    iretq
    align 8
count:  dq 0

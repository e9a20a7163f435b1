; The PIT through the IOAPIC: with the 8259 fully masked, counter 0's interrupt reaches
; IOAPIC pin 0, since KVM's default routing sends GSI 0 to PIC IRQ0 and IOAPIC pin 0
; alike (Linux 6.1 irq_comm.c default_routing, ROUTING_ENTRY2(0); i8254.c raises GSI 0).
; A PC's firmware reroutes IRQ0 to pin 2 in the MADT, but KVM's own routing has no
; override: pin 2 gets nothing.  Periodic mode 2; the LAPIC EOI lets the next one in.
; Catches: the PIT wired to the PIC only, to pin 2, or an edge lost in the IOAPIC.
%define PL_FLAGS PL_F_IRQCHIP | PL_F_PIT
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pit_via_ioapic_pin0, irq, long64, "PIT counter 0 reaches IOAPIC pin 0 (KVM default GSI routing), not pin 2"
payload_main:
    SET_HANDLER 0x30, on_pin0
    SET_HANDLER 0x32, on_pin2
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    IOAPIC_WR 0x11, 0           ; pin 0: destination APIC ID 0
    IOAPIC_WR 0x10, 0x30        ; fixed, physical, edge, active high, unmasked
    IOAPIC_WR 0x15, 0
    IOAPIC_WR 0x14, 0x32        ; pin 2 as well
    PIT_COUNTER0 2, 0x2000
    sti
    WAIT_COUNT pin0, 3, 4000000000
    cli
    CHECK_GE rax, 3, "IOAPIC pin 0 took the PIT's IRQ at least three times"
    CHECK_EQ [pin2], 0, "IOAPIC pin 2 took none"
    PAYLOAD_DONE

on_pin0:
    lock inc qword [pin0]
    LAPIC_WR APIC_EOI, 0
    iretq
on_pin2:
    lock inc qword [pin2]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
pin0:   dq 0
pin2:   dq 0

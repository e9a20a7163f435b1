; KVM's IOAPIC takes the GSI level as the logical (asserted) level: the redirection
; entry's polarity bit (13, active low) is stored and read back but does not invert the
; line (Linux 6.1 ioapic.c ioapic_set_irq never reads the polarity; the 82093AA's polarity
; describes the pin's electrical level, which KVM_IRQ_LINE does not model).  An edge
; entry with polarity low takes one interrupt per pulse, and none when the line stays low.
; Catches: a port that inverts the line for active-low entries (an interrupt at unmask
; with the line low, or on the falling edge only).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
%define PIN 10
%define VEC 0x5A
PAYLOAD ioapic_polarity_ignored, irq, long64, "KVM ignores the IOAPIC polarity bit: an active-low edge entry takes one IRQ per pulse"
payload_main:
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF     ; the GSI reaches the 8259 too: mask it there
    IOAPIC_WR 0x11 + 2 * PIN, 0
    IOAPIC_WR 0x10 + 2 * PIN, VEC | (1 << 13)   ; edge, active low, unmasked
    sti
    WAIT_COUNT count, 1, 20000000      ; must not come: the line is low
    CHECK_EQ [count], 0, "no interrupt with the line low (not inverted)"
    HOST_REQUEST HOST_IRQ_PULSE, PIN
    WAIT_COUNT count, 1, 4000000000
    CHECK_EQ rax, 1, "a pulse: one interrupt"
    HOST_REQUEST HOST_IRQ_PULSE, PIN
    WAIT_COUNT count, 2, 4000000000
    CHECK_EQ rax, 2, "a second pulse: a second interrupt"
    WAIT_COUNT count, 3, 20000000      ; must not come
    cli
    CHECK_EQ [count], 2, "two pulses, two interrupts"
    mov r12d, IOAPIC_BASE
    mov dword [r12], 0x10 + 2 * PIN
    mov eax, [r12 + 0x10]
    CHECK_EQ eax, VEC | (1 << 13), "the entry reads back with the polarity bit"
    PAYLOAD_DONE

isr:
    lock inc qword [count]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count:  dq 0

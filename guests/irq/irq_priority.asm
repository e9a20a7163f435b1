; Interrupt priority.  SDM Vol. 3 10.8.3.1: with several vectors pending in the
; IRR the LAPIC dispatches the highest priority (highest vector) first; the
; lower one follows after its EOI.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000      ; bounded TSC waits spin up to 2M iterations each
%include "payload.inc"
PAYLOAD irq_priority, irq, long64, "two pending vectors (0x41, 0x81): 0x81 delivered first"
payload_main:
    SET_HANDLER 0x41, isr41
    SET_HANDLER 0x81, isr81
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    cli
    SELF_IPI 0x41
    SELF_IPI 0x81
    mov qword [n], 0
    sti
    WAIT_COUNT n, 2, 20000000
    cli
    CHECK_EQ [n], 2, "both vectors delivered"
    CHECK_EQ [order], 0x81, "first delivered: 0x81"
    CHECK_EQ [order + 8], 0x41, "second delivered: 0x41"
    PAYLOAD_DONE
isr41:
    push rax
    mov rax, [n]
    mov qword [order + rax * 8], 0x41
    inc qword [n]
    LAPIC_WR APIC_EOI, 0
    pop rax
    iretq
isr81:
    push rax
    mov rax, [n]
    mov qword [order + rax * 8], 0x81
    inc qword [n]
    LAPIC_WR APIC_EOI, 0
    pop rax
    iretq
    align 8
n: dq 0
order: dq 0, 0, 0, 0

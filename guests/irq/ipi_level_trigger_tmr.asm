; A fixed IPI sent with ICR trigger mode level (bit 15, level asserted) sets the vector's
; TMR bit on the target, an edge one clears it (KVM lapic.c __apic_accept_irq keeps TMR
; equal to the trigger mode of the last accepted interrupt of the vector; SDM Vol. 3A
; 10.8.4: TMR is set for level-triggered interrupts).  The AP reads its TMR in the handler.
; Catches: the ICR trigger mode dropped for IPIs (TMR never set), TMR never cleared.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
%define VEC 0x6A
PAYLOAD ipi_level_trigger_tmr, irq, long64, "a level-triggered fixed IPI sets the target's TMR bit; an edge one clears it"
payload_main:
    SET_HANDLER VEC, on_6a
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP idle with IF=1"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | ICR_LEVEL | VEC
    WAIT_COUNT got, 1, 4000000000
    CHECK_EQ rax, 1, "the level-triggered IPI arrived"
    CHECK_EQ [tmr + 0], 1, "the AP's TMR bit was set for it"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | VEC
    WAIT_COUNT got, 2, 4000000000
    CHECK_EQ rax, 2, "the edge-triggered IPI arrived"
    CHECK_EQ [tmr + 8], 0, "the AP's TMR bit was clear for it"
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

on_6a:
    push rax
    push rbx
    LAPIC_RD APIC_TMR + (VEC / 32) * 0x10
    shr eax, VEC % 32
    and eax, 1
    mov rbx, [got]
    mov [tmr + rbx * 8], rax
    LAPIC_WR APIC_EOI, 0
    lock inc qword [got]
    pop rbx
    pop rax
    iretq
    align 8
got:    dq 0
ready:  dq 0
tmr:    dq -1, -1

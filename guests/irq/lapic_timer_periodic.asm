; LAPIC timer, periodic mode.  SDM Vol. 3 10.5.4: LVT timer mode 01b reloads
; the current count from the initial count at zero, so interrupts repeat;
; writing 0 to the initial count stops the timer.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF GPR_RAX
%define PL_BUDGET 40000000      ; bounded TSC waits spin up to 2M iterations each
%include "payload.inc"
%define VEC 0x61
PAYLOAD lapic_timer_periodic, irq, long64, "LAPIC periodic timer fires repeatedly and stops on TMICT=0"
payload_main:
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_TDCR, 0xB
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_PERIODIC
    LAPIC_WR APIC_TMICT, 200000     ; 200 us at KVM's 1 GHz APIC bus
    sti
    WAIT_COUNT count, 3, 1000000000 ; returns at the third expiry; the bound only matters on failure
    cli
    CHECK_GE [count], 3, "periodic timer fired at least 3 times"
    LAPIC_WR APIC_TMICT, 0          ; stop
    LAPIC_WR APIC_LVTT, APIC_LVT_MASKED
    sti                             ; drain an expiry already pending in IRR (the
    WAIT_COUNT count, 1000000, 2000000  ; grace spins of wait_count deliver it under load)
    cli
    mov rax, [count]
    mov [stopped], rax
    sti
    WAIT_COUNT count, 1000000, 10000000
    cli
    CHECK_EQ [count], [stopped], "no interrupts after the timer is stopped"
    PAYLOAD_DONE
isr:
    inc qword [count]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count: dq 0
stopped: dq 0

; Writing 0 to the initial count stops the LAPIC timer (SDM Vol. 3A 10.5.4: "a write of 0
; to the initial-count register effectively stops the local APIC timer, in both one-shot
; and periodic mode"; Linux 6.1 lapic.c kvm_lapic_reg_write APIC_TMICT -> start_apic_timer
; with a zero count arms nothing).  A periodic timer has fired twice; after TMICT = 0 the
; current count reads 0 at once and, once an expiry that was already pending in IRR has
; been taken, no further interrupt comes.  Catches: a periodic timer
; that keeps its old period after TMICT = 0, a current count that keeps counting.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
%define VEC 0x61
PAYLOAD lapic_timer_tmict_zero_stops, irq, long64, "TMICT = 0 stops a periodic LAPIC timer: current count 0, no further interrupt"
payload_main:
    SET_HANDLER VEC, on_timer
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_TDCR, 0xB         ; divide by 1
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_PERIODIC
    LAPIC_WR APIC_TMICT, 500000     ; 0.5 ms at KVM's 1 GHz APIC bus
    sti
    WAIT_COUNT count, 2, 4000000000
    cli
    CHECK_GE rax, 2, "the periodic timer fired at least twice"
    LAPIC_WR APIC_TMICT, 0
    LAPIC_RD APIC_TMCCT
    CHECK_EQ eax, 0, "current count 0 right after TMICT = 0"
    sti                         ; an expiry already in IRR may still come in: let it
    WAIT_COUNT count, -1, 2000000
    mov rbx, [count]
    lea rsi, [rbx + 1]
    WAIT_COUNT count, rsi, 60000000    ; must not come: many periods
    cli
    mov rax, [count]
    sub rax, rbx
    CHECK_EQ rax, 0, "no interrupt after TMICT = 0"
    LAPIC_RD APIC_TMCCT
    CHECK_EQ eax, 0, "current count still 0"
    PAYLOAD_DONE

on_timer:
    lock inc qword [count]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count:  dq 0

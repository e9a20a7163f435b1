; Changing the LVT timer mode to or from TSC-deadline disarms the timer; switching between
; one-shot and periodic does not (SDM Vol. 3A 10.5.4.1; Linux 6.1 lapic.c apic_update_lvtt:
; a change of "is TSC-deadline" cancels the timer, zeroes TMICT and the deadline).  Also:
; IA32_TSC_DEADLINE reads 0 outside TSC-deadline mode and a write to it there is ignored
; (kvm_get/set_lapic_tscdeadline_msr).  Skipped without CPUID.1:ECX.TSC_Deadline.
; Catches: a count-down timer that survives the switch (a late interrupt, TMICT kept), a
; deadline armed from one-shot mode, a deadline kept across a switch away.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF (GPR_RAX | GPR_RCX | GPR_RDX | GPR_RBX)
%define PL_BUDGET 40000000
%include "payload.inc"
%define VEC 0x62
PAYLOAD lapic_timer_mode_switch, irq, long64, "a switch to or from TSC-deadline mode disarms the timer; deadline writes ignored in other modes"
payload_main:
    REQUIRE_TSC_DEADLINE
    SET_HANDLER VEC, on_timer
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_TDCR, 0xB
    LAPIC_WR APIC_LVTT, VEC         ; one-shot
    call deadline_soon              ; ignored in one-shot mode
    mov ecx, MSR_TSC_DEADLINE
    rdmsr
    CHECK_EQ eax, 0, "IA32_TSC_DEADLINE reads 0 in one-shot mode"
    LAPIC_WR APIC_TMICT, 2000000    ; 2 ms one-shot
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_TSCDEADLINE
    LAPIC_RD APIC_TMICT
    CHECK_EQ eax, 0, "TMICT reads 0 after the switch to TSC-deadline mode"
    mov ecx, MSR_TSC_DEADLINE
    rdmsr
    CHECK_EQ eax, 0, "no deadline armed by the ignored write"
    sti
    WAIT_COUNT count, 1, 60000000      ; must not come: the one-shot was disarmed
    cli
    CHECK_EQ [count], 0, "the 2 ms one-shot never fired"
    call deadline_soon              ; now it arms
    sti
    WAIT_COUNT count, 1, 4000000000
    cli
    CHECK_EQ rax, 1, "the deadline armed in TSC-deadline mode fired"
    call deadline_soon
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_PERIODIC   ; switch away with a deadline armed
    sti
    WAIT_COUNT count, 2, 60000000      ; must not come
    cli
    CHECK_EQ [count], 1, "the deadline armed before the switch to periodic never fired"
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_TSCDEADLINE
    mov ecx, MSR_TSC_DEADLINE
    rdmsr
    CHECK_EQ eax, 0, "back in TSC-deadline mode the old deadline is gone"
    LAPIC_WR APIC_LVTT, VEC         ; one-shot
    LAPIC_WR APIC_TMICT, 1000000
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_PERIODIC   ; one-shot -> periodic keeps counting
    sti
    WAIT_COUNT count, 2, 4000000000
    cli
    CHECK_GE rax, 2, "a one-shot switched to periodic still fires"
    LAPIC_WR APIC_TMICT, 0
    PAYLOAD_DONE

deadline_soon:
    TSC_DEADLINE_AFTER 2000000
    ret

on_timer:
    lock inc qword [count]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count:  dq 0

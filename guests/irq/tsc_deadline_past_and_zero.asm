; TSC-deadline values at the edges (SDM Vol. 3A 10.5.4.1): a deadline already in the past
; fires at once; writing 0 disarms an armed deadline without an interrupt; after the
; interrupt the MSR reads 0 (Linux 6.1 lapic.c kvm_set_lapic_tscdeadline_msr ->
; start_apic_timer; apic_timer_expired clears the deadline).  Skipped without
; CPUID.1:ECX.TSC_Deadline.  Catches: a past deadline treated as far future (a 2^64 wrap
; of "deadline - now"), a zero write that still fires, a deadline not cleared when it fires.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF (GPR_RAX | GPR_RCX | GPR_RDX | GPR_RBX)
%define PL_BUDGET 40000000
%include "payload.inc"
%define VEC 0x63
PAYLOAD tsc_deadline_past_and_zero, irq, long64, "TSC deadline in the past fires at once; writing 0 disarms; the MSR reads 0 after firing"
payload_main:
    REQUIRE_TSC_DEADLINE
    SET_HANDLER VEC, on_timer
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_TSCDEADLINE
    TSC_DEADLINE_AFTER -1000000 ; in the past
    sti
    WAIT_COUNT count, 1, 40000000
    cli
    CHECK_EQ rax, 1, "a deadline in the past fired at once"
    mov ecx, MSR_TSC_DEADLINE
    rdmsr
    shl rdx, 32
    or rax, rdx
    CHECK_EQ rax, 0, "the MSR reads 0 after the interrupt"
    TSC_DEADLINE_AFTER 3000000  ; armed ...
    xor eax, eax                ; ... and disarmed
    xor edx, edx
    wrmsr
    sti
    WAIT_COUNT count, 2, 60000000      ; must not come
    cli
    CHECK_EQ [count], 1, "no interrupt after writing 0"
    PAYLOAD_DONE

on_timer:
    lock inc qword [count]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count:  dq 0

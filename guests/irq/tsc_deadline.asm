; TSC-deadline timer.  SDM Vol. 3 10.5.4.1: available if CPUID.1:ECX[24]; LVT
; timer mode 10b arms on a write of IA32_TSC_DEADLINE (0x6E0); when the TSC
; reaches it one interrupt is delivered and the MSR is cleared to 0.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF (GPR_RAX | GPR_RCX | GPR_RDX | GPR_RBX)
%define PL_BUDGET 40000000      ; bounded TSC waits spin up to 2M iterations each
%include "payload.inc"
%define VEC 0x62
PAYLOAD tsc_deadline, irq, long64, "TSC-deadline timer fires once and clears the MSR (skipped if absent)"
payload_main:
    REQUIRE_TSC_DEADLINE
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_TSCDEADLINE
    TSC_DEADLINE_AFTER 1000000      ; ~1M TSC ticks ahead
    sti
    WAIT_COUNT count, 1, 200000000
    WAIT_COUNT count, 2, 10000000
    cli
    CHECK_EQ [count], 1, "deadline timer fired exactly once"
    mov ecx, MSR_TSC_DEADLINE
    rdmsr
    shl rdx, 32
    or rax, rdx
    CHECK_EQ rax, 0, "IA32_TSC_DEADLINE reads 0 after the interrupt"
    PAYLOAD_DONE
isr:
    inc qword [count]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count: dq 0

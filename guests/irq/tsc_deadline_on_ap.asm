; The TSC-deadline timer is per LAPIC (SDM Vol. 3A 10.5.4.1; Linux 6.1 keeps the deadline
; in each vCPU's kvm_timer): an AP arms a deadline with its own vector and takes it once,
; its IA32_TSC_DEADLINE reads 0 afterwards, and the BSP, which armed nothing, takes
; nothing and reads 0.  Skipped without CPUID.1:ECX.TSC_Deadline.  Catches: one deadline
; shared by all vCPUs, the interrupt delivered to vCPU 0, the AP's expiry lost while it
; is halted (the timer must kick the halted vCPU).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_GPR_UNDEF (GPR_RAX | GPR_RCX | GPR_RDX | GPR_RBX)
%define PL_BUDGET 40000000
%include "payload.inc"
%define VEC 0x64
PAYLOAD tsc_deadline_on_ap, irq, long64, "an AP's TSC deadline fires on that AP once (halted), not on the BSP; both MSRs read 0 after"
payload_main:
    REQUIRE_TSC_DEADLINE        ; (the AP then waits for go until the run ends)
    SET_HANDLER VEC, on_timer
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_TSCDEADLINE
    mov qword [go], 1
    WAIT_COUNT count + 8, 1, 4000000000
    CHECK_EQ rax, 1, "the AP's deadline fired on the AP"
    WAIT_COUNT done, 1, 4000000000
    CHECK_EQ [ap_msr], 0, "the AP's IA32_TSC_DEADLINE reads 0 after"
    sti
    WAIT_COUNT count, 1, 20000000      ; must not come
    cli
    CHECK_EQ [count], 0, "the BSP took no timer interrupt"
    mov ecx, MSR_TSC_DEADLINE
    rdmsr
    CHECK_EQ eax, 0, "the BSP's IA32_TSC_DEADLINE reads 0"
    PAYLOAD_DONE

payload_ap_main:
    WAIT_FLAG go
    LAPIC_WR APIC_LVTT, VEC | APIC_TIMER_TSCDEADLINE
    TSC_DEADLINE_AFTER 3000000
    sti
.wait:
    hlt                         ; the expiry must wake the halted AP
    cmp qword [count + 8], 0
    je .wait
    cli
    mov ecx, MSR_TSC_DEADLINE
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov [ap_msr], rax
    mov qword [done], 1
.idle:
    cli
    hlt
    jmp .idle

COUNTING_HANDLER on_timer, count
    align 8
go:     dq 0
done:   dq 0
ap_msr: dq -1
count:  dq 0, 0

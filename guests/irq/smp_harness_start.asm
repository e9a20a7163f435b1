; Three APs started by the harness, not by INIT/SIPI: the v3 header's ap_entry makes the
; harness put each AP in the entry state (real mode, CS = 0, IP = ap_entry) and set it
; KVM_MP_STATE_RUNNABLE with KVM_SET_MP_STATE (kvm_arch_vcpu_ioctl_set_mpstate), as a VMM
; that boots a guest without firmware does.  Each AP runs once from there, with its
; LAPIC ID = CPUID initial APIC ID = its vCPU id, IA32_APIC_BASE.BSP (bit 8) clear
; (kvm_lapic_set_base / kvm_vcpu_is_reset_bsp), and a LAPIC that takes fixed IPIs.
; Catches: SET_MP_STATE RUNNABLE ignored (the APs never run: no check-in), an AP that
; also runs from its reset vector, an AP marked BSP, an AP's LAPIC left unusable.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_AP_HARNESS_START
%define PL_BUDGET 40000000
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD smp_harness_start, irq, long64, "the harness starts 3 APs at ap_entry (SET_MP_STATE RUNNABLE): IDs, BSP bit, IPIs"
payload_main:
    CHECK_EQ [SMP_ALIVE], 3, "three APs checked in once each"
    SET_HANDLER 0x41, ipi_handler
    mov qword [go], 1
    WAIT_COUNT ready, 3, 4000000000
    CHECK_EQ rax, 3, "every AP read its IDs and enabled interrupts"
    mov ecx, 1
.each:
    mov rax, [seen_lapic + rcx * 8]
    CHECK_EQ rax, rcx, "AP n's LAPIC ID is n"
    mov rax, [seen_cpuid + rcx * 8]
    CHECK_EQ rax, rcx, "AP n's CPUID.1:EBX[31:24] is n"
    mov rax, [seen_base + rcx * 8]
    CHECK_EQ rax, 0xFEE00800, "AP n's IA32_APIC_BASE: FEE00000H, enabled, BSP bit clear"
    mov eax, ecx
    shl eax, 24
    mov ebx, LAPIC_BASE
    mov [rbx + APIC_ICR_HI], eax
    mov dword [rbx + APIC_ICR_LO], ICR_FIXED | ICR_ASSERT | 0x41
    inc ecx
    cmp ecx, 4
    jb .each
    WAIT_COUNT total, 3, 4000000000
    CHECK_EQ rax, 3, "one fixed IPI reached each harness-started AP"
    CHECK_EQ [count + 8], 1, "AP 1 took its IPI"
    CHECK_EQ [count + 16], 1, "AP 2 took its IPI"
    CHECK_EQ [count + 24], 1, "AP 3 took its IPI"
    CHECK_EQ [count], 0, "the BSP took none"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    mov esi, edi
    mov [seen_lapic + rsi * 8], rsi
    mov eax, 1
    cpuid
    shr ebx, 24
    mov [seen_cpuid + rsi * 8], rbx
    mov ecx, MSR_APIC_BASE
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov [seen_base + rsi * 8], rax
    WAIT_FLAG go
    AP_IDLE_READY ready

COUNTING_HANDLER ipi_handler, count, total

    align 8
go:         dq 0
ready:      dq 0
total:      dq 0
count:      dq 0, 0, 0, 0
seen_lapic: dq -1, -1, -1, -1
seen_cpuid: dq -1, -1, -1, -1
seen_base:  dq -1, -1, -1, -1

; IA32_APIC_BASE (MSR 1BH) on each vCPU: bit 8 (BSP) is set on vCPU 0 only, bit 11
; (global enable) on all, and the base is FEE00000H (SDM Vol. 3A 10.4.4; KVM sets the BSP
; flag for the reset BSP, kvm_vcpu_is_reset_bsp / kvm_lapic_set_base).  Catches: every
; vCPU a BSP (or none), APs with their LAPIC disabled or at another base.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%define PL_GPR_UNDEF (GPR_RAX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD smp_apic_base_bsp, irq, long64, "IA32_APIC_BASE: BSP bit on vCPU 0 only, enabled at FEE00000H on every vCPU"
payload_main:
    mov ecx, MSR_APIC_BASE
    rdmsr
    mov [base + 0], rax
    mov qword [go], 1
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "both APs read their IA32_APIC_BASE"
    CHECK_MASK [base + 0], 0xFFFFF900, 0xFEE00900, "vCPU 0: base FEE00000H, enabled, BSP"
    CHECK_MASK [base + 8], 0xFFFFF900, 0xFEE00800, "vCPU 1: base FEE00000H, enabled, not BSP"
    CHECK_MASK [base + 16], 0xFFFFF900, 0xFEE00800, "vCPU 2: base FEE00000H, enabled, not BSP"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    WAIT_FLAG go
    mov esi, edi
    mov ecx, MSR_APIC_BASE
    rdmsr
    mov [base + rsi * 8], rax
    AP_IDLE_READY ready
    align 8
go:     dq 0
ready:  dq 0
base:   dq -1, -1, -1

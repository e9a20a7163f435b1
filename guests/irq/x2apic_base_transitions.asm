; IA32_APIC_BASE mode transitions a guest may and may not make (SDM Vol. 3A 10.12.5,
; Figure 10-27; Linux 6.1 x86.c kvm_set_apic_base): EXTD without EN is an invalid mode,
; bit 9 and bits 0-7 are reserved (#GP); x2APIC -> xAPIC directly is refused (#GP), and
; so is disabled -> x2APIC; x2APIC -> disabled -> xAPIC is the allowed way back.  In each
; refused case the mode is unchanged (the x2APIC ID MSR still reads, or still faults).
; Skipped without CPUID x2APIC.  Catches: a port that lets the guest leave x2APIC mode
; directly (stale MSR/MMIO routing), or that accepts EXTD alone.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF (GPR_RAX | GPR_RCX | GPR_RDX)
%define PL_BUDGET 40000000
%include "payload.inc"
%define BASE 0xFEE00000
%define EN   (1 << 11)
%define EXTD (1 << 10)
%macro SET_BASE 1
    mov ecx, MSR_APIC_BASE
    mov eax, %1
    xor edx, edx
    wrmsr
%endmacro
PAYLOAD x2apic_base_transitions, irq, long64, "IA32_APIC_BASE: EXTD alone, reserved bits, x2APIC->xAPIC, disabled->x2APIC all #GP"
payload_main:
    REQUIRE_X2APIC
    TRY
    SET_BASE BASE | EXTD | 0x100
    CATCH VEC_GP, 0, "EXTD without EN (invalid mode): #GP(0)"
    TRY
    SET_BASE BASE | EN | 0x100 | (1 << 9)
    CATCH VEC_GP, 0, "reserved bit 9: #GP(0)"
    TRY
    SET_BASE BASE | EN | EXTD | 0x100
    CATCH_NONE "xAPIC -> x2APIC is allowed"
    TRY
    SET_BASE BASE | EN | 0x100
    CATCH VEC_GP, 0, "x2APIC -> xAPIC directly: #GP(0)"
    TRY
    mov ecx, MSR_X2APIC_ID
    rdmsr
    CATCH_NONE "still in x2APIC mode: the x2APIC ID MSR reads"
    TRY
    SET_BASE BASE | 0x100
    CATCH_NONE "x2APIC -> disabled is allowed"
    TRY
    SET_BASE BASE | EN | EXTD | 0x100
    CATCH VEC_GP, 0, "disabled -> x2APIC directly: #GP(0)"
    TRY
    mov ecx, MSR_X2APIC_ID
    rdmsr
    CATCH VEC_GP, 0, "still disabled: the x2APIC ID MSR faults"
    TRY
    SET_BASE BASE | EN | 0x100
    CATCH_NONE "disabled -> xAPIC is allowed"
    mov ecx, MSR_APIC_BASE
    rdmsr
    CHECK_EQ eax, BASE | EN | 0x100, "IA32_APIC_BASE = FEE00900H: xAPIC, enabled, BSP"
    LAPIC_RD APIC_ID
    CHECK_EQ eax, 0, "the xAPIC ID register is back (ID 0)"
    PAYLOAD_DONE

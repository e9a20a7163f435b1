; LAPIC identification registers.  SDM Vol. 3 10.4.6-10.4.8: the BSP's APIC ID
; (bits 31:24 of 0xFEE00020) matches CPUID.1:EBX[31:24] (initial APIC ID); the
; version register (0x30) has version 1xH for an integrated APIC (bits 7:0) and
; "Max LVT Entry" = number of LVT entries - 1 in bits 23:16 (>= 4: P6 had 5
; entries, later CPUs 6 or 7).
; IA32_APIC_BASE (MSR 0x1B) has the BSP flag (bit 8) and global enable (bit 11)
; and base 0xFEE00000.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD lapic_regs, irq, long64, "LAPIC ID matches CPUID, version 1xH, APIC_BASE MSR BSP/enable/base"
payload_main:
    mov eax, 1
    cpuid
    shr ebx, 24
    LAPIC_RD APIC_ID
    shr eax, 24
    CHECK_EQ eax, ebx, "APIC ID register = CPUID.1:EBX[31:24]"
    LAPIC_RD APIC_VER
    mov ebx, eax
    and eax, 0xF0
    CHECK_EQ eax, 0x10, "version 1xH (integrated APIC)"
    shr ebx, 16
    and ebx, 0xFF
    CHECK_GE ebx, 4, "max LVT entry >= 4"
    mov ecx, MSR_APIC_BASE
    rdmsr
    CHECK_MASK eax, 0xFFFFF000 | (1 << 11) | (1 << 8), 0xFEE00000 | (1 << 11) | (1 << 8), "APIC_BASE: base 0xFEE00000, EN, BSP"
    PAYLOAD_DONE

; In x2APIC mode not every MSR of the 800H-8FFH range is a register: RDMSR of DFR (80EH),
; ICR2 (831H, ICR is one 64-bit MSR), ARBPRI (809H), EOI (80BH) and SELF IPI (83FH, both
; write-only) faults, and WRMSR to the read-only ID (802H), version (803H), PPR (80AH), LDR
; (80DH, derived from the ID) and DFR faults (SDM Vol. 3A 10.12.1.2, Table 10-6; Linux 6.1
; lapic.c kvm_x2apic_msr_read, kvm_lapic_readable_reg_mask, kvm_lapic_reg_write).  The
; readable ones around them read.  Skipped without CPUID x2APIC.  Catches: an MSR map
; built from the xAPIC page (DFR, ICR2 and ARBPRI readable), writes to ID or LDR taken.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF (GPR_RAX | GPR_RCX | GPR_RDX)
%define PL_BUDGET 40000000
%include "payload.inc"
%macro RD_GP 2
    TRY
    mov ecx, %1
    rdmsr
    CATCH VEC_GP, 0, %2
%endmacro
%macro WR_GP 2
    TRY
    mov ecx, %1
    xor eax, eax
    xor edx, edx
    wrmsr
    CATCH VEC_GP, 0, %2
%endmacro
PAYLOAD x2apic_msr_gaps, irq, long64, "x2APIC MSRs: DFR, ICR2, ARBPRI, EOI, SELF IPI unreadable; ID, version, PPR, LDR, DFR unwritable"
payload_main:
    REQUIRE_X2APIC
    X2APIC_ENABLE
    RD_GP 0x80E, "RDMSR DFR (80EH): #GP(0)"
    RD_GP 0x831, "RDMSR ICR2 (831H): #GP(0)"
    RD_GP 0x809, "RDMSR ARBPRI (809H): #GP(0)"
    RD_GP 0x80B, "RDMSR EOI (80BH, write-only): #GP(0)"
    RD_GP 0x83F, "RDMSR SELF IPI (83FH, write-only): #GP(0)"
    WR_GP 0x802, "WRMSR ID (802H, read-only): #GP(0)"
    WR_GP 0x803, "WRMSR version (803H): #GP(0)"
    WR_GP 0x80A, "WRMSR PPR (80AH): #GP(0)"
    WR_GP 0x80D, "WRMSR LDR (80DH, read-only in x2APIC mode): #GP(0)"
    WR_GP 0x80E, "WRMSR DFR (80EH): #GP(0)"
    TRY
    mov ecx, 0x80D
    rdmsr
    CATCH_NONE "RDMSR LDR (80DH) reads"
    CHECK_EQ eax, 1, "LDR of x2APIC ID 0: cluster 0, bit 0"
    TRY
    mov ecx, 0x803
    rdmsr
    CATCH_NONE "RDMSR version (803H) reads"
    TRY
    mov ecx, 0x80A
    rdmsr
    CATCH_NONE "RDMSR PPR (80AH) reads"
    PAYLOAD_DONE

; A PDPTE with PS = 1 and bit 13 set.  SDM Vol. 3A 4.5 (table 4-16): for a 1 GiB page bits
; 29:13 are reserved; without 1 GiB pages (CPUID.80000001H:EDX[26] = 0) PS itself is
; reserved.  Either way an access through it faults with P | RSVD.  A port that reads bits
; 29:13 as address bits (or treats PS as a 1 GiB page without the CPUID bit) maps memory.
%include "payload.inc"
%define TVA 0xC0000000                  ; PDPTE 3 (3-4 GiB)
PAYLOAD pf_rsvd_pdpte_bit13, mmu, long64, "PS and bit 13 in a PDPTE: #PF P|RSVD (with or without 1 GiB pages)"
payload_main:
    mov rdi, TVA
    call pt_get_pdpte
    mov r12, rax
    mov r14, [r12]                      ; restored below: the LAPIC and IOAPIC live up here
    mov qword [r12], 0 + (PTE_P | PTE_W | PTE_PS | (1 << 13))
    mov r13, TVA
    invlpg [r13]
    TRY
    mov rax, [r13 + 0x40]
    CATCH VEC_PF, PF_P | PF_RSVD, "read through a PDPTE with PS and bit 13"
    mov rcx, TVA + 0x40
    CHECK_EQ [__exc_cr2], rcx, "CR2 = faulting address"
    mov [r12], r14
    mov rax, cr3
    mov cr3, rax
    PAYLOAD_DONE

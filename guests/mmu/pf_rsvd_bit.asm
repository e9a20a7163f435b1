; Reserved bit in a paging-structure entry.  SDM Vol. 3 4.5 (table 4-17): bits
; 20:13 of a PDE that maps a 2 MiB page are reserved; 4.7: an access through it
; faults with error code P | RSVD (= 9 for a supervisor read).
%include "payload.inc"
%define TVA 0x50200000
PAYLOAD pf_rsvd_bit, mmu, long64, "reserved bit 13 in a 2 MiB PDE: #PF P|RSVD"
payload_main:
    mov rdi, TVA
    call pt_get_pde
    mov qword [rax], 0 + (PTE_P | PTE_W | PTE_PS | (1 << 13))
    invlpg [rdi]
    mov rbx, TVA + 0x8000
    TRY
    mov rax, [rbx]
    CATCH VEC_PF, PF_P | PF_RSVD, "read through a PDE with a reserved bit"
    CHECK_EQ [__exc_cr2], TVA + 0x8000, "CR2 = faulting address"
    PAYLOAD_DONE

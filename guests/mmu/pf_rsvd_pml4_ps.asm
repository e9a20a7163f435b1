; Bit 7 (PS) of a PML4E is reserved.  SDM Vol. 3A 4.5 (table 4-15): PML4E bit 7 must be 0;
; an access through a PML4E with it set faults with P | RSVD (4.7).  KVM builds reserved
; masks per level (mmu.c __reset_rsvds_bits_mask: rsvd_bits(7, 7) at level 4); a port that
; treats PS as "large page" at every level maps 512 GiB instead.
%include "payload.inc"
%define TVA 0x8000000000               ; PML4[1]
PAYLOAD pf_rsvd_pml4_ps, mmu, long64, "PS set in a PML4E: #PF P|RSVD"
payload_main:
    call pt_alloc
    mov r13, rax                        ; a PDPT (empty)
    mov rax, cr3
    and rax, ~0xFFF
    lea r12, [rax + 8]                  ; &PML4[1]
    lea rax, [r13 + (PTE_P | PTE_W | PTE_PS)]
    mov [r12], rax
    mov rax, cr3
    mov cr3, rax
    mov rbx, TVA + 0x10
    TRY
    mov rax, [rbx]
    CATCH VEC_PF, PF_P | PF_RSVD, "read through a PML4E with PS set"
    CHECK_EQ [__exc_cr2], TVA + 0x10, "CR2 = faulting address"
    mov qword [r12], 0                  ; leave PML4[1] empty again
    mov rax, cr3
    mov cr3, rax
    PAYLOAD_DONE

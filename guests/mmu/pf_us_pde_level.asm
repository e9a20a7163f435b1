; U/S at the PDE level.  SDM Vol. 3A 4.6.1: a user-mode access needs U/S = 1 in every
; paging-structure entry used to translate it; the PTE's U/S = 1 does not help when the PDE
; has U/S = 0.  #PF error code P | U = 5 for a read.  KVM's walker ANDs the access rights of
; every level (paging_tmpl.h FNAME(walk_addr_generic) pte_access); a port that checks only
; the leaf lets the read through.
%define PL_SETUP
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_us_pde_level, mmu, user64, "U/S = 0 in the PDE, 1 in the PTE: a CPL3 read faults P|U"
payload_setup:
    MAP_4K TVA, page + (PTE_P | PTE_W | PTE_U)
    mov rdi, TVA
    call pt_get_pde
    and qword [rax], ~PTE_U
    mov rax, cr3
    mov cr3, rax
    ret
payload_main:
    mov rbx, TVA + 0x80
    TRY
    mov rax, [rbx]
    CATCH VEC_PF, PF_P | PF_U, "user read through a supervisor PDE"
    CHECK_EQ [__exc_cr2], TVA + 0x80, "CR2 = faulting address"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

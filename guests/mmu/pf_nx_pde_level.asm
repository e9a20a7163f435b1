; XD at the PDE level.  SDM Vol. 3A 4.6.2: with EFER.NXE = 1, instruction fetches are not
; allowed from a page if XD = 1 in any paging-structure entry used to translate it; the
; PTE's XD = 0 does not help.  #PF error code P | I/D = 0x11.  A port that checks XD only
; in the leaf executes the page.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_nx_pde_level, mmu, long64, "XD = 1 in the PDE, 0 in the PTE: a fetch faults P|I; reads work"
payload_main:
    mov byte [page], 0xC3               ; RET
    MAP_4K TVA, page + (PTE_P | PTE_W)
    mov rdi, TVA
    call pt_get_pde
    mov r12, rax
    mov rax, PTE_NX
    or [r12], rax
    mov rax, cr3
    mov cr3, rax
    mov rbx, TVA
    TRY
    movzx eax, byte [rbx]
    CATCH_NONE "a data read through an XD PDE does not fault"
    TRY
    jmp rbx
    CATCH VEC_PF, PF_P | PF_I, "fetch through an XD PDE"
    CHECK_EQ [__exc_cr2], TVA, "CR2 = the fetch address"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

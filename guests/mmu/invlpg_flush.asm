; INVLPG.  SDM Vol. 3 4.10.4.1: INVLPG invalidates the TLB entries for the page
; of its operand, so after changing a PTE and INVLPG the next access uses the
; new translation.  (Without it, the stale one may or may not be used: unchecked.)
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD invlpg_flush, mmu, long64, "INVLPG makes a changed PTE visible"
payload_main:
    mov qword [pagea], 0xAAAA
    mov qword [pageb], 0xBBBB
    MAP_4K TVA, pagea + (PTE_P | PTE_W)
    mov rbx, TVA
    mov rax, [rbx]                  ; caches the translation
    CHECK_EQ rax, 0xAAAA, "TVA maps page A"
    mov rdi, TVA
    call pt_get_pte
    mov qword [rax], pageb + (PTE_P | PTE_W)
    invlpg [rbx]
    mov rax, [rbx]
    CHECK_EQ rax, 0xBBBB, "after INVLPG TVA maps page B"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
pagea: resb 4096
pageb: resb 4096
    [section .text]

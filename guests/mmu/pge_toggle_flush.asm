; Global pages and CR4.PGE.  SDM Vol. 3A 4.10.4.1: a MOV to CR4 that changes PGE invalidates
; all TLB entries, global ones included; so does INVLPG for its page.  (A MOV to CR3 may keep
; global entries, so nothing here depends on a stale one being kept: every check reads after
; an operation that must flush.)  KVM: kvm_post_set_cr4 does a full flush on a PGE change; a
; port that only flushes non-global entries there reads the old page.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pge_toggle_flush, mmu, long64, "a global mapping changed in memory is seen after CR4.PGE toggles and after INVLPG"
payload_main:
    mov qword [page_a], 0xAAAA
    mov qword [page_b], 0xBBBB
    mov rax, cr4
    or rax, CR4_PGE
    mov cr4, rax
    MAP_4K TVA, page_a + (PTE_P | PTE_W | PTE_G)
    mov rbx, TVA
    mov r13, [rbx]
    CHECK_EQ r13, 0xAAAA, "the global mapping reads page A"
    ; Point the PTE at page B without INVLPG, then toggle PGE off and on.
    mov rdi, TVA
    call pt_get_pte
    mov r12, rax
    mov qword [r12], page_b + (PTE_P | PTE_W | PTE_G)
    mov rax, cr4
    and rax, ~CR4_PGE
    mov cr4, rax
    or rax, CR4_PGE
    mov cr4, rax
    mov r13, [rbx]
    CHECK_EQ r13, 0xBBBB, "after CR4.PGE 1 -> 0 -> 1 the new PTE is used"
    ; Back to page A, then INVLPG the global page.
    mov qword [r12], page_a + (PTE_P | PTE_W | PTE_G)
    invlpg [rbx]
    mov r13, [rbx]
    CHECK_EQ r13, 0xAAAA, "after INVLPG the new PTE of a global page is used"
    PAYLOAD_DONE

    [section .bss]
    alignb 4096
page_a: resb 4096
page_b: resb 4096

; MOV to CR3.  SDM Vol. 3 4.10.4.1: writing CR3 (CR4.PCIDE = 0) invalidates all
; TLB entries except global pages; the boot tables have no G bits.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD cr3_reload_flush, mmu, long64, "CR3 reload makes a changed PTE visible"
payload_main:
    mov qword [pagea], 0xAAAA
    mov qword [pageb], 0xBBBB
    MAP_4K TVA, pagea + (PTE_P | PTE_W)
    mov rbx, TVA
    mov rax, [rbx]
    CHECK_EQ rax, 0xAAAA, "TVA maps page A"
    mov rdi, TVA
    call pt_get_pte
    mov qword [rax], pageb + (PTE_P | PTE_W)
    mov rax, cr3
    mov cr3, rax
    mov rax, [rbx]
    CHECK_EQ rax, 0xBBBB, "after a CR3 reload TVA maps page B"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
pagea: resb 4096
pageb: resb 4096
    [section .text]

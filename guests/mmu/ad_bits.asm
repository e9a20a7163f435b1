; Accessed and dirty flags.  SDM Vol. 3 4.8: on a translation the CPU sets A in
; every paging-structure entry used; on a write it sets D in the entry that maps
; the page; a read does not set D.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD ad_bits, mmu, long64, "A set by a read, D set by a write, in the PTE (and A in the PDE)"
payload_main:
    MAP_4K TVA, page + (PTE_P | PTE_W)
    mov rdi, TVA
    call pt_get_pte
    mov r12, rax                    ; r12 = &PTE
    call pt_get_pde
    mov r13, rax                    ; r13 = &PDE
    and qword [r13], ~PTE_A
    invlpg [rdi]
    mov rax, [r12]
    CHECK_MASK rax, PTE_A | PTE_D, 0, "fresh PTE: A = 0, D = 0"
    mov rax, [TVA]                  ; read
    mov rax, [r12]
    CHECK_MASK rax, PTE_A | PTE_D, PTE_A, "after a read: A = 1, D = 0"
    mov rax, [r13]
    CHECK_MASK rax, PTE_A, PTE_A, "after a read: A = 1 in the PDE"
    mov qword [TVA], 7              ; write
    mov rax, [r12]
    CHECK_MASK rax, PTE_A | PTE_D, PTE_A | PTE_D, "after a write: A = 1, D = 1"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

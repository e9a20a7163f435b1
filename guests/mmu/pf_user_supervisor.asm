; User-mode access to a supervisor page (U/S = 0 in the PTE).  SDM Vol. 3 4.6.1:
; user-mode accesses need U/S = 1 at every level; #PF error code P | U = 5 for
; a read, P | W | U = 7 for a write.
%define PL_SETUP
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_user_supervisor, mmu, user64, "CPL3 access to a supervisor page: #PF P|U and P|W|U"
payload_setup:
    MAP_4K TVA, page + (PTE_P | PTE_W)
    ret
payload_main:
    mov rbx, TVA + 0x40
    TRY
    mov rax, [rbx]
    CATCH VEC_PF, PF_P | PF_U, "user read of a supervisor page"
    CHECK_EQ [__exc_cr2], TVA + 0x40, "CR2 = faulting address (read)"
    TRY
    mov byte [rbx], 1
    CATCH VEC_PF, PF_P | PF_W | PF_U, "user write to a supervisor page"
    ret
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

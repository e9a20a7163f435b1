; User-mode write to a read-only user page.  SDM Vol. 3 4.6.1: user-mode writes
; need R/W = 1 at every level regardless of CR0.WP; the #PF error code is
; P | W | U = 7 and CR2 the address.  User reads are allowed.
%define PL_SETUP
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_write_ro_user, mmu, user64, "CPL3 write to a read-only user page: #PF P|W|U"
payload_setup:                      ; CPL0, before the switch to CPL3
    MAP_4K TVA, page + (PTE_P | PTE_U)
    ret
payload_main:
    mov rbx, TVA + 0x20
    TRY
    mov rax, [rbx]
    CATCH_NONE "user read of a read-only user page does not fault"
    TRY
    mov qword [rbx], 1
    CATCH VEC_PF, PF_P | PF_W | PF_U, "user write to a read-only page"
    CHECK_EQ [__exc_cr2], TVA + 0x20, "CR2 = faulting address"
    ret
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

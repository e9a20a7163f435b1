; CR0.WP = 0 only lets *supervisor* writes ignore R/W.  SDM Vol. 3A 4.6.1: user-mode writes
; to a page with R/W = 0 fault whatever CR0.WP is.  #PF error code P | W | U = 7.  KVM:
; permission_fault / update_permission_bitmask (cr0_wp applies to supervisor accesses only);
; a port that applies WP = 0 to every write lets the user write through.
%define PL_SETUP
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD wp0_user_write_ro, mmu, user64, "CR0.WP = 0: a CPL3 write to a read-only page still faults P|W|U"
payload_setup:
    mov qword [page], 0x7777
    MAP_4K TVA, page + (PTE_P | PTE_U)
    mov rax, cr0
    and rax, ~CR0_WP
    mov cr0, rax
    ret
payload_main:
    mov rbx, TVA
    TRY
    mov qword [rbx], 0x8888
    CATCH VEC_PF, PF_P | PF_W | PF_U, "user write to a read-only page with WP = 0"
    CHECK_EQ [__exc_cr2], TVA, "CR2 = faulting address"
    mov rax, [rbx]
    CHECK_EQ rax, 0x7777, "the page is unchanged"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

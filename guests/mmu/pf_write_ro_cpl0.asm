; Supervisor write to a read-only page with CR0.WP = 1.  SDM Vol. 3 4.6.1: with
; WP = 1 supervisor-mode writes need R/W = 1 in every paging level; else #PF with
; error code P | W (present, write, supervisor) = 3.  Reads are allowed.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_write_ro_cpl0, mmu, long64, "CR0.WP=1: CPL0 write to a read-only page faults (#PF P|W)"
payload_main:
    mov rax, cr0
    CHECK_MASK rax, CR0_WP, CR0_WP, "CR0.WP = 1 (boot state)"
    MAP_4K TVA, page + PTE_P
    mov rbx, TVA + 8
    TRY
    mov rax, [rbx]
    CATCH_NONE "read of a read-only page does not fault"
    TRY
    mov qword [rbx], 1
    CATCH VEC_PF, PF_P | PF_W, "CPL0 write to a read-only page with WP=1"
    CHECK_EQ [__exc_cr2], TVA + 8, "CR2 = faulting address"
    CHECK_EQ qword [page + 8], 0, "the faulting write did not reach memory"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

; CR0.WP = 1: supervisor writes honour R/W.  SDM Vol. 3A 4.6.1: with CR0.WP = 1 a
; supervisor-mode write to a page whose R/W = 0 faults (#PF with P | W = 3); with WP = 0 it
; succeeds (mmu/wp0_supervisor_write).  Reads are fine either way.  KVM: permission_fault
; with the cr0_wp bit of the MMU role; a port that ignores WP lets the write through.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD wp1_supervisor_write, mmu, long64, "CR0.WP = 1: a CPL0 write to a read-only page faults P|W; the page is unchanged"
payload_main:
    mov rax, cr0
    or rax, CR0_WP
    mov cr0, rax
    mov qword [page], 0x1111
    MAP_4K TVA, page + (PTE_P)
    mov rbx, TVA
    mov r13, [rbx]
    CHECK_EQ r13, 0x1111, "read of the read-only page works"
    TRY
    mov qword [rbx], 0x2222
    CATCH VEC_PF, PF_P | PF_W, "CPL0 write to a read-only page with WP = 1"
    CHECK_EQ [__exc_cr2], TVA, "CR2 = the address written"
    mov r13, [page]
    CHECK_EQ r13, 0x1111, "the page is unchanged"
    PAYLOAD_DONE

    [section .bss]
    alignb 4096
page: resb 4096

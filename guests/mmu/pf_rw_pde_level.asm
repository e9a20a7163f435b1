; Access rights combine over all paging levels.  SDM Vol. 3 4.6.1: with
; CR0.WP = 1 a supervisor write needs R/W = 1 in every paging-structure entry
; used; R/W = 0 in the PDE makes the whole 2 MiB region read-only even if the
; PTE has R/W = 1 (#PF error code P | W).
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_rw_pde_level, mmu, long64, "R/W=0 in the PDE write-protects a page whose PTE has R/W=1"
payload_main:
    MAP_4K TVA, page + (PTE_P | PTE_W)
    mov rdi, TVA
    call pt_get_pde
    and qword [rax], ~PTE_W         ; PDE read-only, PTE still writable
    invlpg [rdi]
    mov rbx, TVA
    TRY
    mov rax, [rbx]
    CATCH_NONE "read through a read-only PDE does not fault"
    TRY
    mov qword [rbx], 1
    CATCH VEC_PF, PF_P | PF_W, "write through a read-only PDE faults"
    CHECK_EQ [__exc_cr2], TVA, "CR2 = faulting address"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

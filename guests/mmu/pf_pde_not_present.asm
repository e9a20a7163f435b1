; Not-present entry above the PTE level.  SDM Vol. 3 4.7: a #PF caused by a
; not-present entry at any level has P = 0 in the error code (0 for a supervisor
; read); CR2 is the linear address.
%include "payload.inc"
%define TVA 0x50200000
PAYLOAD pf_pde_not_present, mmu, long64, "not-present PDE: #PF error code 0 and CR2"
payload_main:
    mov rdi, TVA
    call pt_get_pde
    mov qword [rax], 0              ; the 2 MiB region is not present
    invlpg [rdi]
    mov rbx, TVA + 0x1234
    TRY
    mov rax, [rbx]
    CATCH VEC_PF, 0, "read through a not-present PDE"
    CHECK_EQ [__exc_cr2], TVA + 0x1234, "CR2 = faulting address"
    PAYLOAD_DONE

; CR0.WP = 0: SDM Vol. 3 4.6.1: supervisor-mode writes are allowed to any
; linear address with a valid translation, even when R/W = 0.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD wp0_supervisor_write, mmu, long64, "CR0.WP=0: CPL0 write to a read-only page succeeds"
payload_main:
    MAP_4K TVA, page + PTE_P        ; read-only, supervisor
    mov rax, cr0
    and rax, ~CR0_WP
    mov cr0, rax
    mov rbx, TVA + 0x10
    TRY
    mov qword [rbx], 0x5A5A
    CATCH_NONE "write to a read-only page with WP=0 does not fault"
    mov rax, cr0
    or rax, CR0_WP
    mov cr0, rax
    CHECK_EQ qword [page + 0x10], 0x5A5A, "the write reached memory"
    TRY
    mov qword [rbx], 1
    CATCH VEC_PF, PF_P | PF_W, "with WP=1 again the same write faults"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

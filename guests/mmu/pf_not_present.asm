; #PF on a not-present page.  SDM Vol. 3 4.7: error code P (bit 0) = 0 for a
; not-present translation, W/R (bit 1) = 1 for a write, U/S (bit 2) = 0 at CPL0;
; CR2 holds the faulting linear address; the saved RIP is the faulting
; instruction (#PF is a fault).
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_not_present, mmu, long64, "#PF error code and CR2 for reads/writes of a not-present page"
payload_main:
    MAP_4K TVA, page                ; PTE with P = 0
    mov rbx, TVA + 0x123
    TRY
read_insn:
    mov rax, [rbx]
    CATCH VEC_PF, 0, "read of a not-present page: #PF, error code 0"
    CHECK_EQ [__exc_cr2], TVA + 0x123, "CR2 = faulting address (read)"
    CHECK_EQ [__exc_rip], read_insn, "saved RIP = faulting instruction"
    TRY
    mov dword [rbx], 1
    CATCH VEC_PF, PF_W, "write to a not-present page: #PF, error code W"
    CHECK_EQ [__exc_cr2], TVA + 0x123, "CR2 = faulting address (write)"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

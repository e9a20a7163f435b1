; #PF error code of a user-mode write to a not-present page: P = 0, W = 1, U = 1 (= 6).
; SDM Vol. 3A 4.7: each bit describes the access, whether or not the page was present; a
; port that reports U or W only for protection faults gives 0 or 2 here.
%define PL_SETUP
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_user_write_not_present, mmu, user64, "CPL3 write to a not-present page: #PF error code W|U = 6"
payload_setup:
    MAP_4K TVA, page + 0                ; present bit clear
    ret
payload_main:
    mov rbx, TVA + 0x123
    TRY
    mov byte [rbx], 1
    CATCH VEC_PF, PF_W | PF_U, "user write to a not-present page"
    CHECK_EQ [__exc_cr2], TVA + 0x123, "CR2 = faulting address"
    TRY
    mov al, [rbx]
    CATCH VEC_PF, PF_U, "user read of a not-present page: U only"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

; Writes by string instructions are logged page by page: REP STOSB over pages 2-4 (from
; the middle of page 2 into page 4) and a REP MOVSQ into page 7 set bits 2, 3, 4 and 7.  A
; port that marks only the first page of a multi-page write misses bits 3 and 4.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD dirty_log_string, mmu, long64, "dirty log: REP STOSB across pages and REP MOVSQ set every page's bit"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 16 * 4096, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create a logging slot of 16 pages"
    mov rdi, GPA + 2 * 4096 + 2048
    mov ecx, 2 * 4096
    mov al, 0xee
    rep stosb                               ; up to GPA + 4 * 4096 + 2047
    mov rsi, payload_main
    mov rdi, GPA + 7 * 4096 + 64
    mov ecx, 4
    rep movsq
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ eax, 0, "KVM_GET_DIRTY_LOG succeeds"
    mov rcx, [bitmap]
    CHECK_EQ rcx, (1 << 2) | (1 << 3) | (1 << 4) | (1 << 7), "bits 2, 3, 4 (STOSB) and 7 (MOVSQ)"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 4
    [section .text]

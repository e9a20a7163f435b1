; A qword write that crosses from page 2 into page 3 of a logging slot dirties both pages
; (SDM: the access touches both; KVM logs every page written).  A port that logs only the
; page of the first byte misses bit 3.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD dirty_log_cross_page, mmu, long64, "dirty log: a write crossing a page boundary dirties both pages"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 8 * 4096, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create a logging slot of 8 pages"
    mov rbx, GPA + 3 * 4096 - 4
    mov rcx, 0x0102030405060708
    mov [rbx], rcx
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    mov rcx, [bitmap]
    CHECK_EQ rcx, (1 << 2) | (1 << 3), "bits 2 and 3"
    mov rbx, GPA + 3 * 4096
    mov ecx, [rbx]
    CHECK_EQ ecx, 0x01020304, "the high half landed at the start of page 3"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 4
    [section .text]

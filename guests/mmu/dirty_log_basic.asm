; Dirty logging of a run-time slot: writes to pages 1 and 5 of an 8-page logging slot set
; exactly bits 1 and 5 of KVM_GET_DIRTY_LOG's bitmap; a read sets nothing; a second
; KVM_GET_DIRTY_LOG with no write in between is all zero (kvm_main.c
; kvm_get_dirty_log_protect takes the bitmap and write-protects the pages again), and a
; write after it is logged again.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD dirty_log_basic, mmu, long64, "dirty log: exactly the written pages, cleared by the read, logged again"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 8 * 4096, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create a logging slot of 8 pages"
    mov rbx, GPA
    mov byte [rbx + 1 * 4096 + 7], 1
    mov qword [rbx + 5 * 4096], 2
    mov rcx, [rbx + 3 * 4096]               ; a read
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ eax, 0, "KVM_GET_DIRTY_LOG succeeds"
    CHECK_EQ edx, 1, "8 pages: one bitmap word"
    mov rcx, [bitmap]
    CHECK_EQ rcx, (1 << 1) | (1 << 5), "bits 1 and 5: the pages written, not the page read"
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    mov rcx, [bitmap]
    CHECK_EQ rcx, 0, "nothing written since: all zero"
    mov byte [rbx + 5 * 4096 + 100], 3
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    mov rcx, [bitmap]
    CHECK_EQ rcx, 1 << 5, "a write after the read is logged again (page 5 was write-protected again)"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 4
    [section .text]

; Switching dirty logging on for an existing slot (KVM_MR_FLAGS_ONLY) starts with an empty
; bitmap: pages written before are not reported, pages written after are; switching it
; off and asking for the log is ENOENT (kvm_main.c kvm_get_dirty_log_protect: no
; dirty_bitmap), and a slot that never logged answers ENOENT too.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD dirty_log_enable_later, mmu, long64, "dirty logging switched on later reports only later writes; off is ENOENT"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 4 * 4096, 0, 0
    CHECK_EQ eax, 0, "create slot 16 without logging"
    mov rbx, GPA
    mov byte [rbx + 1 * 4096], 1
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ rax, -2, "dirty log of a slot that does not log: -ENOENT"
    MEMSLOT MS_FLAGS, 16, 0, 0, MS_F_LOG, 0
    CHECK_EQ eax, 0, "switch logging on"
    mov byte [rbx + 2 * 4096], 1
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ eax, 0, "KVM_GET_DIRTY_LOG succeeds"
    mov rcx, [bitmap]
    CHECK_EQ rcx, 1 << 2, "only page 2, written after logging was switched on"
    MEMSLOT MS_FLAGS, 16, 0, 0, 0, 0
    CHECK_EQ eax, 0, "switch logging off"
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ rax, -2, "dirty log after logging was switched off: -ENOENT"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 4
    [section .text]

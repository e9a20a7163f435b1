; A logging slot that moves keeps its dirty bitmap.  Linux 6.1 kvm_main.c
; kvm_prepare_memory_region: "If logging is enabled in both old and new, reuse the existing
; bitmap" (KVM_MR_MOVE included), so a page written before the move is still reported after
; it, beside a page written at the new GPA.  A port that starts the moved slot with an empty
; bitmap loses the first write (a VMM migrating the guest would miss it).
%include "payload.inc"
%define OLD_GPA 0x40000000
%define NEW_GPA 0x40400000
PAYLOAD dirty_log_move_keeps, mmu, long64, "dirty log: a moved logging slot keeps the bits of writes before the move"
payload_main:
    MEMSLOT MS_CREATE, 16, OLD_GPA, 4 * 4096, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create a logging slot of 4 pages"
    mov rbx, OLD_GPA
    mov byte [rbx + 2 * 4096], 1            ; page 2, before the move
    MEMSLOT MS_MOVE, 16, NEW_GPA, 0, 0, 0
    CHECK_EQ eax, 0, "move it"
    mov rbx, NEW_GPA
    mov byte [rbx + 3 * 4096], 1            ; page 3, after the move
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ eax, 0, "KVM_GET_DIRTY_LOG succeeds"
    mov rcx, [bitmap]
    CHECK_EQ rcx, (1 << 2) | (1 << 3), "page 2 (before the move) and page 3 (after)"
    movzx ecx, byte [rbx + 2 * 4096]
    CHECK_EQ rcx, 1, "the write before the move is in the moved memory"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 1
    [section .text]

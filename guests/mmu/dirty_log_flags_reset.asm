; Switching dirty logging off and on again gives a fresh bitmap.  Linux 6.1 kvm_main.c
; kvm_prepare_memory_region: logging off nullifies the bitmap (freed on commit); logging on
; when the old slot did not log allocates a new, zeroed one.  So a write made while logging
; was on, then off, is not reported after logging is back; a write after is.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD dirty_log_flags_reset, mmu, long64, "dirty log: off then on again forgets earlier writes"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 4 * 4096, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create a logging slot"
    mov rbx, GPA
    mov byte [rbx + 1 * 4096], 1            ; logged, never read
    MEMSLOT MS_FLAGS, 16, 0, 0, 0, 0
    CHECK_EQ eax, 0, "logging off"
    mov byte [rbx + 2 * 4096], 1            ; not logging
    MEMSLOT MS_FLAGS, 16, 0, 0, MS_F_LOG, 0
    CHECK_EQ eax, 0, "logging on again"
    mov byte [rbx + 3 * 4096], 1            ; logged
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ eax, 0, "KVM_GET_DIRTY_LOG succeeds"
    mov rcx, [bitmap]
    CHECK_EQ rcx, 1 << 3, "only page 3: the bitmap was new when logging came back"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 1
    [section .text]

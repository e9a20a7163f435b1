; A 64 MiB logging slot (16384 pages, 256 bitmap words): writes to the first and the last
; page set bit 0 of word 0 and bit 63 of word 255, and nothing else.  Catches a bitmap
; sized or indexed for small slots (a fixed-size buffer, a 32-bit page index).
%define PL_RAM_SIZE 0x200000
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD dirty_log_large, mmu, long64, "dirty log of a 64 MiB slot: first and last page, 256 words"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 64 << 20, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create a 64 MiB logging slot"
    mov rbx, GPA
    mov byte [rbx], 1
    mov rdx, GPA + (64 << 20) - 1
    mov byte [rdx], 1
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ eax, 0, "KVM_GET_DIRTY_LOG succeeds"
    CHECK_EQ edx, 256, "16384 pages: 256 words"
    mov rcx, [bitmap]
    CHECK_EQ rcx, 1, "word 0: page 0 only"
    mov rcx, [bitmap + 255 * 8]
    mov rdx, 0x8000000000000000
    CHECK_EQ rcx, rdx, "word 255: page 16383 only"
    xor ecx, ecx
    mov rsi, bitmap + 8
    mov edi, 254
.sum:
    or rcx, [rsi]
    add rsi, 8
    dec edi
    jnz .sum
    CHECK_EQ rcx, 0, "words 1-254: nothing"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 256
    [section .text]

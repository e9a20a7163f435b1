; Bitmap geometry: a logging slot of 65 pages at a GPA that is not a multiple of 64 pages
; (0x40003000).  Bit n is page n of the slot, not of the GPA space; the bitmap has
; ALIGN(65, 64) / 64 = 2 words (include/linux/kvm_host.h kvm_dirty_bitmap_bytes), and page 64
; is bit 0 of word 1 (an off-by-one in the word or bit index is the classic port bug: the
; illumos port's HVM-177 sized this bitmap wrongly).
%include "payload.inc"
%define GPA 0x40003000
PAYLOAD dirty_log_unaligned, mmu, long64, "dirty log: 65 pages at an unaligned GPA, page 64 is word 1 bit 0"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 65 * 4096, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create a logging slot of 65 pages at 0x40003000"
    mov rbx, GPA
    mov byte [rbx], 1                       ; page 0
    mov byte [rbx + 63 * 4096 + 4095], 1    ; last byte of page 63
    mov byte [rbx + 64 * 4096], 1           ; page 64, the last
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ eax, 0, "KVM_GET_DIRTY_LOG succeeds"
    CHECK_EQ edx, 2, "65 pages: two bitmap words"
    mov rcx, [bitmap]
    mov rdx, 0x8000000000000001
    CHECK_EQ rcx, rdx, "word 0: pages 0 and 63"
    mov rcx, [bitmap + 8]
    CHECK_EQ rcx, 1, "word 1: page 64 is bit 0"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 4
    [section .text]

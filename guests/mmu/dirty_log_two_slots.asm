; Two logging slots keep separate bitmaps: a write to page 2 of slot 16 and to page 5 of
; slot 17 shows as bit 2 in slot 16's log and bit 5 in slot 17's, never in the other's (a
; port that indexes the bitmap by GPA or by the wrong slot mixes them).
%include "payload.inc"
PAYLOAD dirty_log_two_slots, mmu, long64, "two logging slots: each write in its own slot's bitmap"
payload_main:
    MEMSLOT MS_CREATE, 16, 0x40000000, 8 * 4096, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create logging slot 16"
    MEMSLOT MS_CREATE, 17, 0x40008000, 8 * 4096, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create logging slot 17 right after it"
    mov rbx, 0x40000000
    mov byte [rbx + 2 * 4096], 1            ; slot 16 page 2
    mov byte [rbx + 8 * 4096 + 5 * 4096], 1 ; slot 17 page 5
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    mov rcx, [bitmap]
    CHECK_EQ rcx, 1 << 2, "slot 16: bit 2 only"
    MEMSLOT MS_DIRTY, 17, 0, bitmap, 0, 0
    mov rcx, [bitmap]
    CHECK_EQ rcx, 1 << 5, "slot 17: bit 5 only"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 4
    [section .text]

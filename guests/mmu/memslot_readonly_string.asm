; A REP MOVSB that runs from a read-write slot into a read-only slot placed right after
; it: the bytes in the read-write slot are written, the ones in the read-only slot exit as
; MMIO writes and change nothing, and RDI/RCX end as after the whole copy (SDM MOVS: every
; iteration completes; writes to a read-only memslot are MMIO, mmu.c).
%include "payload.inc"
%define RW_GPA 0x40000000
%define RO_GPA 0x40001000
PAYLOAD memslot_readonly_string, mmu, long64, "REP MOVSB from a read-write into a read-only slot: RO part dropped"
payload_main:
    MEMSLOT MS_CREATE, 16, RW_GPA, 0x1000, 0, 0
    CHECK_EQ eax, 0, "create read-write slot 16"
    MEMSLOT MS_CREATE, 17, RO_GPA, 0x1000, MS_F_RO | MS_FILL(0x66), 0
    CHECK_EQ eax, 0, "create read-only slot 17 right after it (fill 0x66)"
    mov rsi, source
    mov rdi, RO_GPA - 4
    mov ecx, 8
    rep movsb
    mov rdx, RO_GPA + 4
    CHECK_EQ rdi, rdx, "RDI advanced by 8"
    CHECK_EQ rcx, 0, "RCX counted down to 0"
    mov rbx, RO_GPA - 4
    mov ecx, [rbx]
    CHECK_EQ ecx, 0x44332211, "the 4 bytes in the read-write slot were written"
    mov ecx, [rbx + 4]
    CHECK_EQ ecx, 0x66666666, "the 4 bytes in the read-only slot are unchanged"
    PAYLOAD_DONE
source: db 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 + 1, 0x77, 0x88

; AND / OR / XOR / TEST / NOT.  SDM Vol. 2: AND, OR, XOR, TEST clear OF and CF,
; set SF, ZF, PF from the result, AF is undefined (masked out).  NOT changes no
; flags.
%define PL_RFLAGS_UNDEF FL_AF
%include "payload.inc"
%define DEF (FL_ARITH & ~FL_AF)
PAYLOAD alu_logic, emulator, long64, "AND/OR/XOR/TEST/NOT results and defined flags"
payload_main:
    stc
    mov eax, 0xF0F0
    and eax, 0x0FF0
    CHECK_EQ rax, 0x00F0, "and"
    CHECK_FLAGS DEF, FL_PF, "and: CF cleared, PF (0xF0 even)"
    stc
    mov eax, 0x80000000
    or eax, 1
    CHECK_EQ rax, 0x80000001, "or"
    CHECK_FLAGS DEF, FL_SF, "or: SF, CF cleared"
    mov rbx, 0x123456789
    xor rbx, rbx
    CHECK_EQ rbx, 0, "xor self"
    CHECK_FLAGS DEF, FL_ZF | FL_PF, "xor self: ZF PF"
    mov eax, 3
    test eax, 4
    CHECK_FLAGS DEF, FL_ZF | FL_PF, "test 3,4: ZF PF"
    CHECK_EQ rax, 3, "test leaves the operand unchanged"
    mov byte [mem], 0x81
    xor byte [mem], 0x01            ; memory destination
    CHECK_FLAGS DEF, FL_SF, "xor byte [mem]: 0x80 -> SF, odd parity"
    movzx eax, byte [mem]
    CHECK_EQ rax, 0x80, "xor byte [mem] result"
    stc
    mov eax, 0x0F0F0F0F
    not eax
    CHECK_FLAGS FL_CF, FL_CF, "not does not change CF"
    CHECK_EQ rax, 0xF0F0F0F0, "not"
    PAYLOAD_DONE
    align 8
mem: dq 0

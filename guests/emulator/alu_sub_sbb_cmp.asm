; SUB / SBB / CMP flags.  SDM Vol. 2 SUB, SBB, CMP: all six arithmetic flags
; are set from the result of dest - src (- CF for SBB); CMP discards the result.
%include "payload.inc"
PAYLOAD alu_sub_sbb_cmp, emulator, long64, "SUB/SBB/CMP results and arithmetic flags"
payload_main:
    xor eax, eax
    sub eax, 1                      ; borrow: 0 - 1 = 0xFFFFFFFF
    CHECK_EQ rax, 0xFFFFFFFF, "sub eax 0 - 1"
    CHECK_FLAGS FL_ARITH, FL_CF | FL_PF | FL_AF | FL_SF, "sub 0-1: CF PF AF SF"
    mov eax, 0x80000000
    sub eax, 1                      ; INT_MIN - 1 overflows
    CHECK_EQ rax, 0x7FFFFFFF, "sub eax 0x80000000 - 1"
    CHECK_FLAGS FL_ARITH, FL_OF | FL_AF | FL_PF, "sub INT_MIN-1: OF AF PF"
    stc
    mov eax, 10
    sbb eax, 3                      ; 10 - 3 - 1 = 6 (even parity)
    CHECK_EQ rax, 6, "sbb with CF=1: 10 - 3 - 1"
    CHECK_FLAGS FL_ARITH, FL_PF, "sbb 10-3-1: PF only"
    clc
    mov rax, 0
    sbb rax, 0                      ; CF=0: 0 - 0 - 0 = 0
    CHECK_FLAGS FL_ARITH, FL_ZF | FL_PF, "sbb 0-0-0: ZF PF"
    mov eax, 5
    cmp eax, 5
    CHECK_FLAGS FL_ARITH, FL_ZF | FL_PF, "cmp 5,5: ZF PF"
    CHECK_EQ rax, 5, "cmp leaves the operand unchanged"
    cmp eax, 6
    CHECK_FLAGS FL_ARITH, FL_CF | FL_SF | FL_AF | FL_PF, "cmp 5,6: CF SF AF PF"
    mov qword [mem], -2
    cmp qword [mem], 1              ; -2 - 1 = -3, no overflow, unsigned no borrow
    CHECK_FLAGS FL_ARITH, FL_SF, "cmp qword [mem] -2,1: SF only (0xFD has 7 ones)"
    PAYLOAD_DONE
    align 8
mem: dq 0

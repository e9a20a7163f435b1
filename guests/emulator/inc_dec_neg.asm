; INC / DEC / NEG.  SDM Vol. 2: INC and DEC set OF, SF, ZF, AF, PF and leave CF
; unchanged; NEG sets CF = (operand != 0) and the others from 0 - operand.
%include "payload.inc"
PAYLOAD inc_dec_neg, emulator, long64, "INC/DEC preserve CF, NEG flags"
payload_main:
    stc
    mov eax, 0xFFFFFFFF
    inc eax
    CHECK_FLAGS FL_ARITH, FL_CF | FL_ZF | FL_AF | FL_PF, "inc 0xFFFFFFFF: ZF AF PF, CF kept"
    CHECK_EQ rax, 0, "inc wraps"
    clc
    mov eax, 0x7FFFFFFF
    inc eax
    CHECK_FLAGS FL_ARITH, FL_OF | FL_SF | FL_AF | FL_PF, "inc INT_MAX: OF SF AF PF, CF kept clear"
    clc
    xor eax, eax
    dec eax
    CHECK_FLAGS FL_ARITH, FL_SF | FL_AF | FL_PF, "dec 0: SF AF PF, CF kept clear"
    CHECK_EQ rax, 0xFFFFFFFF, "dec 0 = 0xFFFFFFFF"
    mov qword [mem], 1
    stc
    dec qword [mem]
    CHECK_FLAGS FL_ARITH, FL_CF | FL_ZF | FL_PF, "dec qword [mem] 1: ZF PF, CF kept"
    mov eax, 5
    neg eax
    CHECK_EQ rax, 0xFFFFFFFB, "neg 5"
    CHECK_FLAGS FL_ARITH, FL_CF | FL_AF | FL_SF, "neg 5: CF AF SF (0xFB odd)"
    xor eax, eax
    neg eax
    CHECK_FLAGS FL_ARITH, FL_ZF | FL_PF, "neg 0: CF = 0, ZF PF"
    mov eax, 0x80000000
    neg eax
    CHECK_EQ rax, 0x80000000, "neg INT_MIN = INT_MIN"
    CHECK_FLAGS FL_ARITH, FL_OF | FL_SF | FL_PF | FL_CF, "neg INT_MIN: OF SF PF CF"
    PAYLOAD_DONE
    align 8
mem: dq 0

; Shifts and rotates.  SDM Vol. 2 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD:
; CF = last bit shifted out; OF defined only for 1-bit counts (SHL: MSB(result)
; XOR CF; ROR/RCR: XOR of the two top result bits); AF undefined for shifts;
; rotates touch only CF/OF; the count is masked to 5 bits (6 for 64-bit) and a
; masked count of 0 changes no flags.  Only defined flags are checked.
%define PL_RFLAGS_UNDEF (FL_AF | FL_OF)
%include "payload.inc"
%define SZPC (FL_SF | FL_ZF | FL_PF | FL_CF)
PAYLOAD shift_rotate, emulator, long64, "SHL/SHR/SAR/ROL/ROR/RCL/RCR/SHLD/SHRD results and defined flags"
payload_main:
    mov eax, 0x80000001
    shl eax, 1
    CHECK_EQ rax, 2, "shl 0x80000001,1"
    CHECK_FLAGS SZPC | FL_OF, FL_CF | FL_OF, "shl by 1: CF = old MSB, OF = MSB^CF"
    mov eax, 0x1F
    shr eax, 4
    CHECK_EQ rax, 1, "shr 0x1F,4"
    CHECK_FLAGS SZPC, FL_CF, "shr 0x1F,4: CF = bit 3"
    mov eax, 0x80000000
    sar eax, 31
    CHECK_EQ rax, 0xFFFFFFFF, "sar 0x80000000,31 fills with the sign"
    CHECK_FLAGS SZPC, FL_SF | FL_PF, "sar: CF = bit 30 = 0, SF PF"
    mov eax, 0x80000000
    rol eax, 1
    CHECK_EQ rax, 1, "rol 0x80000000,1"
    CHECK_FLAGS FL_CF | FL_OF, FL_CF | FL_OF, "rol by 1: CF = 1, OF = MSB^CF = 1"
    mov eax, 1
    ror eax, 1
    CHECK_EQ rax, 0x80000000, "ror 1,1"
    CHECK_FLAGS FL_CF | FL_OF, FL_CF | FL_OF, "ror by 1: CF = MSB = 1, OF = b31^b30 = 1"
    stc
    xor eax, eax
    stc
    rcl eax, 1
    CHECK_EQ rax, 1, "rcl 0,1 with CF=1"
    CHECK_FLAGS FL_CF | FL_OF, 0, "rcl by 1: CF = 0, OF = 0"
    clc
    mov eax, 1
    rcr eax, 1
    CHECK_EQ rax, 0, "rcr 1,1 with CF=0"
    CHECK_FLAGS FL_CF, FL_CF, "rcr by 1: CF = 1"
    stc
    mov al, 0x81
    rcl al, 3                       ; 9-bit rotate of CF:AL
    CHECK_FLAGS FL_CF, 0, "rcl al 0x81,3 with CF=1: CF = 0"
    movzx eax, al
    CHECK_EQ rax, 0x0E, "rcl al 0x81,3 with CF=1 = 0x0E"
    mov eax, 0x12345678
    mov edx, 0x9ABCDEF0
    shld eax, edx, 8
    CHECK_EQ rax, 0x3456789A, "shld eax,edx,8"
    CHECK_FLAGS SZPC, FL_PF, "shld: CF = bit 24 = 0, PF (0x9A even)"
    mov eax, 0x12345678
    shrd eax, edx, 4
    CHECK_EQ rax, 0x01234567, "shrd eax,edx,4"
    CHECK_FLAGS SZPC, FL_CF, "shrd: CF = bit 3 = 1, 0x67 odd"
    mov eax, 1
    mov cl, 33                      ; masked to 1 for 32-bit operands
    shl eax, cl
    CHECK_EQ rax, 2, "shl eax,cl with cl=33 shifts by 1"
    mov rax, 1
    shl rax, cl                     ; 64-bit: 6-bit mask, 33 stays 33
    CHECK_EQ rax, 0x200000000, "shl rax,cl with cl=33 shifts by 33"
    mov eax, 0x55
    mov cl, 32                      ; masked to 0: no change, no flags
    stc
    shl eax, cl
    CHECK_FLAGS FL_CF, FL_CF, "masked count 0 leaves CF"
    CHECK_EQ rax, 0x55, "masked count 0 leaves the operand"
    PAYLOAD_DONE

; MUL / IMUL / DIV / IDIV.  SDM Vol. 2: MUL and one-operand IMUL set CF = OF = 1
; iff the high half is significant (SF ZF AF PF undefined); DIV/IDIV leave all
; flags undefined, truncate toward zero, and raise #DE for a zero divisor or a
; quotient too large for the destination.
%define PL_RFLAGS_UNDEF FL_ARITH
%include "payload.inc"
PAYLOAD mul_div, emulator, long64, "MUL/IMUL/DIV/IDIV results, CF/OF, and #DE"
payload_main:
    mov eax, 0x80000000
    mov ecx, 2
    mul ecx
    CHECK_FLAGS FL_CF | FL_OF, FL_CF | FL_OF, "mul high half non-zero: CF OF"
    CHECK_EQ rdx, 1, "mul edx"
    CHECK_EQ rax, 0, "mul eax"
    mov eax, 3
    mul ecx
    CHECK_FLAGS FL_CF | FL_OF, 0, "mul small: CF = OF = 0"
    CHECK_EQ rax, 6, "mul 3*2"
    mov rax, -3
    mov rcx, 5
    imul rcx
    CHECK_FLAGS FL_CF | FL_OF, 0, "imul rcx -3*5: RDX is the sign extension"
    CHECK_EQ rdx, -1, "imul rdx"
    CHECK_EQ rax, -15, "imul rax"
    mov eax, 0x40000000
    imul eax, eax, 2
    CHECK_FLAGS FL_CF | FL_OF, FL_CF | FL_OF, "imul eax,eax,2 signed overflow"
    mov rbx, -2
    imul rbx, rbx, 3
    CHECK_EQ rbx, -6, "imul three-operand -2*3"
    mov edx, 1
    xor eax, eax
    mov ecx, 0x10
    div ecx                         ; 0x1_0000_0000 / 16
    CHECK_EQ rax, 0x10000000, "div quotient"
    CHECK_EQ rdx, 0, "div remainder"
    mov eax, -7
    cdq
    mov ecx, 2
    idiv ecx                        ; truncation toward zero
    CHECK_EQ rax, 0xFFFFFFFD, "idiv -7/2 quotient -3"
    CHECK_EQ rdx, 0xFFFFFFFF, "idiv -7/2 remainder -1"
    xor ecx, ecx
    mov eax, 1
    TRY
    div ecx
    CATCH VEC_DE, "div by zero"
    mov eax, 0x80000000
    cdq
    mov ecx, -1
    TRY
    idiv ecx                        ; +2^31 does not fit in 32 bits
    CATCH VEC_DE, "idiv INT_MIN / -1 overflow"
    mov ax, 0x1000
    mov cl, 0x10
    TRY
    div cl                          ; 0x100 does not fit in AL
    CATCH VEC_DE, "8-bit div quotient overflow"
    movzx eax, ax
    CHECK_EQ rax, 0x1000, "#DE is a fault: AX unchanged"
    PAYLOAD_DONE

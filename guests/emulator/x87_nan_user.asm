; x87 NaN results at CPL3 (native on hosts that run user code on the CPU), found by
; `kvm-unit fuzz` on the engine (it delivered the first operand's NaN and lost payloads in
; FLD/FST m32/m64). SDM Vol. 1 4.8.3.5 Table 4-7, x87 column: a NaN and a number give the
; NaN; an SNaN and a QNaN give the QNaN; two QNaNs (or two SNaNs) give the one with the
; larger significand (equal significands: the positive one, as the host CPU and Bochs'
; softfloat decide; the SDM table does not say); the result is quieted (bit 51 of a double set). SDM 4.8.3.4: FLD and
; FST m32/m64 carry the significand's bits (a double keeps 52, a single the top 23).
; Operands are in RAM (KVM's emulator has no x87 data instructions: emulator/x87_basic).
%include "payload.inc"
PAYLOAD x87_nan_user, emulator, user64, "x87 NaN propagation (Table 4-7) and NaN payloads through m32/m64 (CPL3)"
payload_main:
    fninit
    fld qword [qnan_small]
    fadd qword [qnan_large]                 ; two QNaNs: the larger significand, either order
    fstp qword [out]
    CHECK_EQ qword [out], 0x7FF8000000005678, "fadd QNaN(1234) + QNaN(5678): the larger significand"
    fld qword [qnan_large]
    fmul qword [qnan_small]
    fstp qword [out]
    CHECK_EQ qword [out], 0x7FF8000000005678, "fmul QNaN(5678) * QNaN(1234): the larger significand"
    fld qword [neg_qnan_small]
    fadd qword [qnan_small]                 ; equal significands, signs differ: the positive one
    fstp qword [out]
    CHECK_EQ qword [out], 0x7FF8000000001234, "fadd -QNaN(1234) + QNaN(1234): equal significands give the positive NaN"
    fld qword [qnan_small]
    fsub qword [snan_big]                   ; QNaN and an SNaN operand: the QNaN, though its significand is smaller
    fstp qword [out]                        ; (FLD would have quieted the SNaN: it is the memory operand here)
    CHECK_EQ qword [out], 0x7FF8000000001234, "fsub QNaN(1234) - SNaN(ABCD) m64: the QNaN source"
    fld1
    fdiv qword [snan_big]                   ; number and SNaN: the SNaN quieted, payload kept
    fstp qword [out]
    CHECK_EQ qword [out], 0x7FF800000000ABCD, "fdiv 1 / SNaN(ABCD): the SNaN quieted with its payload"
    fld dword [single_qnan]
    fstp qword [out]                        ; the single's 23 significand bits go to the top of the double's
    CHECK_EQ qword [out], 0x7FF82468A0000000, "fld m32 QNaN 7FC12345, fstp m64: payload moved up"
    fld qword [neg_qnan]
    fstp dword [out32]                      ; the double's top 23 significand bits, sign kept
    mov eax, [out32]
    CHECK_EQ rax, 0xFFC00000, "fld m64 QNaN FFF80000000000AA, fstp m32: top significand bits, sign kept"
    fnstsw ax
    and eax, 1                              ; IE: the SNaN operands raised it (masked)
    CHECK_EQ rax, 1, "an SNaN operand sets FSW.IE (masked: the QNaN is delivered)"
    fninit
    ret
    align 8
qnan_small:  dq 0x7FF8000000001234
qnan_large:  dq 0x7FF8000000005678
snan_big:    dq 0x7FF000000000ABCD
neg_qnan:    dq 0xFFF80000000000AA
neg_qnan_small: dq 0xFFF8000000001234
single_qnan: dd 0x7FC12345
    align 8
out:         dq 0
out32:       dd 0

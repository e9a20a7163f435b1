; CMPXCHG16B.  SDM Vol. 2 CMPXCHG8B/CMPXCHG16B: compares RDX:RAX with m128;
; equal: m128 = RCX:RBX, ZF = 1; else RDX:RAX = m128, ZF = 0; other flags
; unchanged.  Needs CPUID.1:ECX.CX16[13]; a misaligned m128 raises #GP(0).
%define PL_GPR_UNDEF (GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD cmpxchg16b, emulator, long64, "CMPXCHG16B equal/not-equal and #GP on a misaligned operand"
payload_main:
    mov eax, 1
    cpuid
    bt ecx, 13
    jc .cx16
    SKIP "CPUID.1:ECX.CX16 = 0"
    PAYLOAD_DONE
.cx16:
    mov rax, 0x0123456789ABCDEF
    mov [m16], rax
    mov rdx, 0x1122334455667788
    mov [m16 + 8], rdx
    mov rbx, 0xAAAAAAAAAAAAAAAA
    mov rcx, 0xBBBBBBBBBBBBBBBB
    lock cmpxchg16b [m16]
    CHECK_FLAGS FL_ZF, FL_ZF, "cmpxchg16b equal: ZF = 1"
    CHECK_EQ [m16 + 8], rcx, "cmpxchg16b stored RCX (high)"
    CHECK_EQ [m16], rbx, "cmpxchg16b stored RBX (low)"
    xor eax, eax
    xor edx, edx
    cmpxchg16b [m16]
    CHECK_FLAGS FL_ZF, 0, "cmpxchg16b not equal: ZF = 0"
    CHECK_EQ rdx, rcx, "cmpxchg16b loaded RDX"
    CHECK_EQ rax, rbx, "cmpxchg16b loaded RAX"
    TRY
    cmpxchg16b [m16 + 8]            ; misaligned m128
    CATCH VEC_GP, 0, "cmpxchg16b on a misaligned operand: #GP(0)"
    PAYLOAD_DONE
    align 16
m16: dq 0, 0, 0, 0

; CMPXCHG / XADD / CMPXCHG8B (CMPXCHG16B: cmpxchg16b.asm).  SDM Vol. 2: CMPXCHG compares the
; accumulator with the destination (flags as CMP); equal: dest = src, ZF = 1;
; else accumulator = dest, ZF = 0.  XADD: dest = dest + src, src = old dest,
; flags as ADD.  CMPXCHG8B/16B compare EDX:EAX / RDX:RAX with m64/m128 and
; store ECX:EBX / RCX:RBX or load the memory; only ZF is changed.
%include "payload.inc"
PAYLOAD cmpxchg_xadd, emulator, long64, "CMPXCHG/XADD/CMPXCHG8B semantics and flags"
payload_main:
    mov qword [m], 5
    mov eax, 5
    mov ecx, 9
    lock cmpxchg [m], rcx
    CHECK_FLAGS FL_ARITH, FL_ZF | FL_PF, "cmpxchg equal: flags of cmp 5,5"
    CHECK_EQ [m], 9, "cmpxchg equal stores the source"
    lock cmpxchg [m], rcx           ; rax = 5, [m] = 9: not equal
    CHECK_FLAGS FL_ZF, 0, "cmpxchg not equal: ZF = 0"
    CHECK_EQ rax, 9, "cmpxchg not equal loads the destination"
    mov qword [m], 10
    mov eax, 3
    lock xadd [m], rax
    CHECK_EQ [m], 13, "xadd: dest = 10 + 3"
    CHECK_EQ rax, 10, "xadd: src = old dest"
    CHECK_FLAGS FL_ARITH, 0, "xadd flags of add 10+3 (0x0D odd)"
    mov dword [m8], 0x11111111
    mov dword [m8 + 4], 0x22222222
    mov eax, 0x11111111
    mov edx, 0x22222222
    mov ebx, 0x33333333
    mov ecx, 0x44444444
    lock cmpxchg8b [m8]
    CHECK_FLAGS FL_ZF, FL_ZF, "cmpxchg8b equal: ZF = 1"
    CHECK_EQ [m8], 0x4444444433333333, "cmpxchg8b stored ECX:EBX"
    xor eax, eax
    xor edx, edx
    cmpxchg8b [m8]
    CHECK_FLAGS FL_ZF, 0, "cmpxchg8b not equal: ZF = 0"
    CHECK_EQ rax, 0x33333333, "cmpxchg8b loaded EAX"
    CHECK_EQ rdx, 0x44444444, "cmpxchg8b loaded EDX"
    PAYLOAD_DONE
    align 8
m:   dq 0
m8:  dq 0

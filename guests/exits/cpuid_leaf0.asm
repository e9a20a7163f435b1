; CPUID basic leaves.  SDM Vol. 2 CPUID: leaf 0 returns the highest basic leaf
; in EAX and the vendor string in EBX:EDX:ECX; leaf 0x80000000 the highest
; extended leaf; CPUID.80000001H:EDX[29] (LM) is 1 on a CPU running 64-bit code;
; CPUID.1:EDX[5] (MSR) and [6] (PAE) are 1 since the boot path used them.
; Values are host-dependent, so only consistency is checked.
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX | GPR_RSI | GPR_RDI)
%include "payload.inc"
PAYLOAD cpuid_leaf0, exits, long64, "CPUID leaf 0/1/0x80000000/0x80000001 consistency"
payload_main:
    xor eax, eax
    cpuid
    CHECK_GE eax, 1, "CPUID.0:EAX (max basic leaf) >= 1"
    mov esi, ebx
    or esi, ecx
    or esi, edx
    CHECK_NE esi, 0, "vendor string (EBX:EDX:ECX) non-empty"
    mov eax, 1
    cpuid
    CHECK_MASK edx, (1 << 5) | (1 << 6), (1 << 5) | (1 << 6), "CPUID.1:EDX MSR and PAE set"
    mov eax, 0x80000000
    cpuid
    CHECK_GE eax, 0x80000001, "CPUID.80000000H:EAX >= 0x80000001"
    mov eax, 0x80000001
    cpuid
    CHECK_MASK edx, 1 << 29, 1 << 29, "CPUID.80000001H:EDX.LM set in 64-bit mode"
    CHECK_MASK edx, 1 << 20, 1 << 20, "CPUID.80000001H:EDX.NX set (EFER.NXE was accepted)"
    PAYLOAD_DONE

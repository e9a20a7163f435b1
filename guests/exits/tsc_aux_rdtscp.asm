; IA32_TSC_AUX (MSR C000_0103H) and RDTSCP follow the guest's CPUID (KVM_SET_CPUID2).
; Linux 6.1 x86.c __kvm_set_msr / __kvm_get_msr, case MSR_TSC_AUX: a guest access
; fails (#GP) unless guest_cpuid_has RDTSCP (CPUID.80000001H:EDX[27]) or RDPID
; (CPUID.(EAX=7,ECX=0):ECX[22]); a write with bits 63:32 set fails on an Intel guest
; (guest_cpuid_is_intel; SDM Vol. 4: bits 63:32 reserved) and is truncated to 32
; bits otherwise. vmx.c vmx_secondary_exec_control enables RDTSCP in the guest only
; with RDTSCP or RDPID in its CPUID, else RDTSCP is #UD (SDM Vol. 2B RDTSCP).
; SDM RDTSCP: EDX:EAX := TSC, ECX := IA32_TSC_AUX[31:0], the high halves of RAX, RDX
; and RCX are cleared. The suite gives the guest the backend's supported CPUID, so
; which half runs depends on it; the other half is reported as skipped.
%include "payload.inc"
PAYLOAD tsc_aux_rdtscp, exits, long64, "IA32_TSC_AUX and RDTSCP: round trip, reserved bits, #GP/#UD per CPUID"
%define MSR_TSC_AUX 0xC0000103
payload_main:
    xor r12d, r12d                  ; r12 bit 0: RDTSCP, bit 1: RDPID
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_ext
    mov eax, 0x80000001
    cpuid
    bt edx, 27
    jnc .no_ext
    or r12d, 1
.no_ext:
    xor eax, eax
    cpuid
    mov r13d, ebx                   ; vendor "Genu" = 756E6547H for Intel
    cmp eax, 7
    jb .no_7
    mov eax, 7
    xor ecx, ecx
    cpuid
    bt ecx, 22
    jnc .no_7
    or r12d, 2
.no_7:
    test r12d, r12d
    jnz .present
    ; ---- neither RDTSCP nor RDPID ----
    SKIP "CPUID has neither RDTSCP nor RDPID: checking the #GP/#UD half only"
    mov ecx, MSR_TSC_AUX
    xor edx, edx
    mov eax, 1
    TRY
    wrmsr
    CATCH VEC_GP, 0, "WRMSR IA32_TSC_AUX without RDTSCP/RDPID: #GP(0)"
    mov ecx, MSR_TSC_AUX
    TRY
    rdmsr
    CATCH VEC_GP, 0, "RDMSR IA32_TSC_AUX without RDTSCP/RDPID: #GP(0)"
    TRY
    rdtscp
    CATCH VEC_UD, "RDTSCP without RDTSCP/RDPID in CPUID: #UD"
    jmp .done
.present:
    SKIP "CPUID has RDTSCP or RDPID: the #GP/#UD half is not checked"
    mov ecx, MSR_TSC_AUX
    xor edx, edx
    mov eax, 0x89ABCDEF
    TRY
    wrmsr
    CATCH_NONE "WRMSR IA32_TSC_AUX = 89ABCDEFH"
    mov ecx, MSR_TSC_AUX
    mov rax, -1
    mov rdx, -1
    rdmsr
    CHECK_EQ rax, 0x89ABCDEF, "RDMSR IA32_TSC_AUX: EAX = the value written (RAX zero-extended)"
    CHECK_EQ rdx, 0, "RDMSR IA32_TSC_AUX: EDX = 0"
    ; bits 63:32: #GP on an Intel guest, truncated on others
    mov ecx, MSR_TSC_AUX
    mov edx, 1
    mov eax, 0x13579BDF
    cmp r13d, 0x756E6547
    jne .not_intel
    TRY
    wrmsr
    CATCH VEC_GP, 0, "WRMSR IA32_TSC_AUX with bit 32 set, Intel guest: #GP(0)"
    mov ecx, MSR_TSC_AUX
    rdmsr
    CHECK_EQ rax, 0x89ABCDEF, "the faulting WRMSR left IA32_TSC_AUX unchanged"
    jmp .hi_done
.not_intel:
    TRY
    wrmsr
    CATCH_NONE "WRMSR IA32_TSC_AUX with bit 32 set, non-Intel guest: accepted"
    mov ecx, MSR_TSC_AUX
    rdmsr
    CHECK_EQ rax, 0x13579BDF, "non-Intel guest: low half written"
    CHECK_EQ rdx, 0, "non-Intel guest: bits 63:32 dropped"
    mov ecx, MSR_TSC_AUX
    xor edx, edx
    mov eax, 0x89ABCDEF
    wrmsr
.hi_done:
    test r12d, 1
    jnz .rdtscp
    SKIP "RDPID without RDTSCP: KVM enables RDTSCP (vmx.c) but the SDM says #UD; not checked"
    jmp .done
.rdtscp:
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r8, rax                     ; TSC before
    mov rax, -1
    mov rcx, -1
    mov rdx, -1
    TRY
    rdtscp
    CATCH_NONE "RDTSCP with CPUID.80000001H:EDX.RDTSCP = 1"
    CHECK_EQ rcx, 0x89ABCDEF, "RDTSCP: ECX = IA32_TSC_AUX, RCX[63:32] cleared"
    mov r9, rax
    shr r9, 32
    CHECK_EQ r9, 0, "RDTSCP: RAX[63:32] cleared"
    mov r9, rdx
    shr r9, 32
    CHECK_EQ r9, 0, "RDTSCP: RDX[63:32] cleared"
    shl rdx, 32
    or rax, rdx
    CHECK_GE rax, r8, "RDTSCP: TSC not below the earlier RDTSC"
.done:
    ; TSC values are host-dependent: leave none in the final registers.
    xor eax, eax
    xor edx, edx
    xor r8d, r8d
    xor r9d, r9d
    mov ecx, MSR_TSC_AUX
    PAYLOAD_DONE

; CPUID leaf 0DH sizes follow XCR0. SDM Vol. 1 13.2 and Vol. 2A CPUID leaf 0DH,
; sub-leaf 0: EAX/EDX = the XCR0 bits the processor supports (x87 and SSE always),
; EBX = the size of the XSAVE area for the features enabled in XCR0 *now*, ECX = the
; size for all supported features. Standard format (SDM 13.4): 512-byte legacy
; region + 64-byte header = 576, then component i at offset CPUID.(0DH,i).EBX with
; size CPUID.(0DH,i).EAX. XCR0 is 1 after reset (SDM 13.3; Linux 6.1 x86.c
; kvm_vcpu_reset: xcr0 = XFEATURE_MASK_FP), so EBX = 576. KVM recomputes EBX from the
; vCPU's XCR0 (cpuid.c kvm_update_cpuid_runtime / xstate_required_size, called again
; by __kvm_set_xcr), so XSETBV with AVX enabled makes it the end of the AVX component
; (832 on parts with AVX at 576 size 256). Also: CR4.OSXSAVE is accepted when
; CPUID.1:ECX.XSAVE = 1 (kvm_is_valid_cr4) and shows in CPUID.1:ECX.OSXSAVE; XSETBV
; #GP(0) for XCR0[0] = 0, for AVX without SSE, and for ECX != 0 (SDM XSETBV).
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX | GPR_R8 | GPR_R9 | GPR_R10 | GPR_R11)
%include "payload.inc"
PAYLOAD cpuid_xsave_size, exits, long64, "CPUID.0DH EBX = XSAVE size for the current XCR0; ECX = max; XSETBV"
%define CR4_OSXSAVE (1 << 18)

payload_main:
    xor eax, eax
    cpuid
    cmp eax, 0xD
    jb .no_leaf
    mov eax, 0xD
    xor ecx, ecx
    cpuid
    mov r10d, eax                   ; supported XCR0[31:0]
    test eax, eax
    jnz .have_leaf
.no_leaf:
    SKIP "CPUID leaf 0DH absent or empty: nothing to check"
    PAYLOAD_DONE
.have_leaf:
    ; KVM keeps EBX current whenever the table has a 0DH entry (kvm_update_cpuid_runtime
    ; does not look at CPUID.1:ECX.XSAVE), so the sizes are checked before that bit.
    CHECK_MASK rax, 3, 3, "CPUID.(0DH,0):EAX reports x87 and SSE"
    CHECK_EQ rbx, 576, "EBX = 576 after reset (XCR0 = 1: legacy area + header)"
    mov r11d, ecx
    mov r8, r10                     ; ECX = size for every supported feature
    call xsave_size
    CHECK_EQ r11, r9, "ECX = size for all supported features (max offset+size)"
    CHECK_GE r11, 576, "ECX >= 576"
    mov eax, 1
    cpuid
    bt ecx, 26
    jc .have_xsave
    SKIP "CPUID.1:ECX.XSAVE = 0: CR4.OSXSAVE/XGETBV/XSETBV part skipped"
    jmp .end
.have_xsave:
    ; ---- enable XSAVE in CR4 ----
    mov rax, cr4
    or rax, CR4_OSXSAVE
    TRY
    mov cr4, rax
    CATCH_NONE "MOV to CR4 setting OSXSAVE with CPUID.1:ECX.XSAVE = 1"
    cmp qword [__exc_vector], -1
    jne .end
    mov eax, 1
    cpuid
    CHECK_MASK rcx, 1 << 27, 1 << 27, "CPUID.1:ECX.OSXSAVE = CR4.OSXSAVE = 1"
    xor ecx, ecx
    xgetbv
    CHECK_EQ rax, 1, "XGETBV(0) = 1 after reset"
    CHECK_EQ rdx, 0, "XGETBV(0) EDX = 0"
    mov eax, 3                      ; x87 | SSE: SSE state lives in the legacy area
    xor edx, edx
    xor ecx, ecx
    xsetbv
    mov eax, 0xD
    xor ecx, ecx
    cpuid
    CHECK_EQ rbx, 576, "XCR0 = 3: EBX = 576"
    CHECK_EQ rcx, r11, "ECX does not depend on XCR0"
    bt r10d, 2
    jnc .no_avx
    mov eax, 1
    cpuid
    bt ecx, 28
    jnc .no_avx
    mov eax, 7                      ; x87 | SSE | AVX
    xor edx, edx
    xor ecx, ecx
    xsetbv
    mov eax, 0xD
    xor ecx, ecx
    cpuid
    mov r11d, ebx
    mov r8d, 7
    call xsave_size
    CHECK_EQ r11, r9, "XCR0 = 7: EBX = end of the AVX component (832 with AVX at 576+256)"
    CHECK_GE r11, 577, "XCR0 = 7: EBX grew past 576"
    jmp .avx_done
.no_avx:
    SKIP "AVX not supported: XCR0 = 7 case skipped"
.avx_done:
    ; ---- invalid XCR0 values and XCR indexes ----
    xor eax, eax
    xor edx, edx
    xor ecx, ecx
    TRY
    xsetbv
    CATCH VEC_GP, 0, "XSETBV XCR0 = 0 (x87 bit clear): #GP(0)"
    mov eax, 5
    TRY
    xsetbv
    CATCH VEC_GP, 0, "XSETBV XCR0 = 5 (AVX without SSE): #GP(0)"
    mov eax, 1
    mov ecx, 1
    TRY
    xsetbv
    CATCH VEC_GP, 0, "XSETBV with ECX = 1: #GP(0)"
    mov eax, 1                      ; back to reset state
    xor edx, edx
    xor ecx, ecx
    xsetbv
    mov eax, 0xD
    xor ecx, ecx
    cpuid
    CHECK_EQ rbx, 576, "XCR0 = 1 again: EBX = 576"
.end:
    PAYLOAD_DONE

; r8 = XCR0 bits -> r9 = 576 max (CPUID.(0DH,i).EBX + EAX) for set bits i in 2..31
xsave_size:
    mov r9d, 576
    mov esi, 2
.loop:
    bt r8d, esi
    jnc .next
    mov eax, 0xD
    mov ecx, esi
    cpuid
    add eax, ebx
    cmp eax, r9d
    cmova r9d, eax
.next:
    inc esi
    cmp esi, 32
    jb .loop
    ret

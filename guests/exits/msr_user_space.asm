; RDMSR/WRMSR that KVM hands to userspace (KVM_CAP_X86_USER_SPACE_MSR) and the MSR
; filter (KVM_X86_SET_MSR_FILTER). Linux 6.1 x86.c: kvm_emulate_rdmsr/wrmsr try
; kvm_msr_allowed first (the filter; a denied access is KVM_MSR_RET_FILTERED), then KVM's
; own MSRs (an unknown index is KVM_MSR_RET_UNSUPPORTED, a refused value 1); a failure
; whose reason (FILTER 4, UNKNOWN 2, INVAL 1: kvm_msr_reason) userspace asked for exits
; as KVM_EXIT_X86_RDMSR/WRMSR instead of #GP, and the next KVM_RUN completes it with
; userspace's msr.data (complete_userspace_rdmsr) or injects #GP for msr.error. The
; harness stores WRMSR values per index, answers RDMSR with them (error if none), refuses
; a value whose high half is DEADBEEFH, and leaves reason << 24 | index[23:0] in the latch.
%include "payload.inc"
PAYLOAD msr_user_space, exits, long64, "MSR exits to userspace: UNKNOWN, INVAL, FILTER reasons, data and #GP back"
%define MSR_UNKNOWN      0xDEAD0000
%define MSR_SYSENTER_CS  0x174
%define MSR_SYSENTER_ESP 0x175
%define MSR_SYSENTER_EIP 0x176
%define MSR_LSTAR        0xC0000082

payload_main:
    ; The filter: reads of SYSENTER_CS denied; writes of SYSENTER_ESP denied and of
    ; SYSENTER_EIP allowed (one WRITE range over both); every other MSR allowed.
    VMCTL VMCTL_USER_MSR | VMCTL_MSR_FILTER, MSR_REASON_INVAL | MSR_REASON_UNKNOWN | MSR_REASON_FILTER, 0, 2, 0, ranges
    CHECK_EQ rax, 0, "KVM_ENABLE_CAP(X86_USER_SPACE_MSR) and KVM_X86_SET_MSR_FILTER succeed"

    ; SYSENTER_CS is KVM's: a write goes through (the filter denies reads only).
    mov ecx, MSR_SYSENTER_CS
    xor edx, edx
    mov eax, 0x10
    TRY
    wrmsr
    CATCH_NONE "WRMSR SYSENTER_CS (reads filtered, writes not): no exit, no fault"

    ; An MSR KVM does not know: the write goes to userspace, which keeps it.
    mov ecx, MSR_UNKNOWN
    mov edx, 0x11223344
    mov eax, 0x55667788
    TRY
    wrmsr
    CATCH_NONE "WRMSR of an unknown MSR, completed by userspace: no #GP"
    in eax, 0xE0
    CHECK_EQ rax, (2 << 24) | (MSR_UNKNOWN & 0xFFFFFF), "the WRMSR exit's reason is UNKNOWN (2), index DEAD0000H"
    mov ecx, MSR_UNKNOWN
    xor eax, eax
    xor edx, edx
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov rbx, 0x1122334455667788
    CHECK_EQ rax, rbx, "RDMSR of it: EDX:EAX = userspace's msr.data (the value written)"

    ; Userspace answers msr.error: #GP(0) in the guest, for a read and a write.
    mov ecx, MSR_UNKNOWN + 1
    TRY
    rdmsr
    CATCH VEC_GP, 0, "RDMSR of an unknown MSR userspace has no value for: #GP(0) from msr.error"
    mov ecx, MSR_UNKNOWN + 2
    mov edx, 0xDEADBEEF
    xor eax, eax
    TRY
    wrmsr
    CATCH VEC_GP, 0, "WRMSR that userspace refuses: #GP(0) from msr.error"

    ; The filter: a denied read exits with reason FILTER, even for an MSR KVM knows.
    mov ecx, MSR_SYSENTER_CS
    TRY
    rdmsr
    CATCH VEC_GP, 0, "RDMSR SYSENTER_CS (filtered): userspace has no value, #GP(0)"
    in eax, 0xE0
    CHECK_EQ rax, (4 << 24) | MSR_SYSENTER_CS, "the RDMSR exit's reason is FILTER (4), index 174H"

    ; A denied write goes to userspace and KVM's MSR keeps its value.
    mov ecx, MSR_SYSENTER_ESP
    mov edx, 0x00000000
    mov eax, 0x12345678
    TRY
    wrmsr
    CATCH_NONE "WRMSR SYSENTER_ESP (filtered), completed by userspace: no #GP"
    in eax, 0xE0
    CHECK_EQ rax, (4 << 24) | MSR_SYSENTER_ESP, "the WRMSR exit's reason is FILTER (4), index 175H"
    mov ecx, MSR_SYSENTER_ESP
    mov eax, 0xFFFF
    rdmsr
    CHECK_EQ rax, 0, "RDMSR SYSENTER_ESP (reads allowed): KVM's value, untouched by the filtered write (0)"

    ; The same range allows SYSENTER_EIP (bitmap bit 1): KVM writes it, no exit.
    mov ecx, MSR_SYSENTER_EIP
    xor edx, edx
    mov eax, 0x00401000
    wrmsr
    in eax, 0xE0
    CHECK_EQ rax, (4 << 24) | MSR_SYSENTER_ESP, "WRMSR SYSENTER_EIP (allowed by its bitmap bit) does not exit: the latch is unchanged"
    mov ecx, MSR_SYSENTER_EIP
    rdmsr
    CHECK_EQ rax, 0x00401000, "RDMSR SYSENTER_EIP: the value KVM stored"

    ; A value KVM refuses (non-canonical LSTAR) with INVAL asked for: userspace takes it.
    mov ecx, MSR_LSTAR
    rdmsr
    mov r12d, eax
    mov r13d, edx
    mov ecx, MSR_LSTAR
    mov edx, 0x80000000
    xor eax, eax
    TRY
    wrmsr
    CATCH_NONE "WRMSR LSTAR = 8000000000000000H (non-canonical), completed by userspace: no #GP"
    in eax, 0xE0
    CHECK_EQ rax, (1 << 24) | (MSR_LSTAR & 0xFFFFFF), "the WRMSR exit's reason is INVAL (1), index C0000082H"
    mov ecx, MSR_LSTAR
    rdmsr
    CHECK_EQ rax, r12, "LSTAR keeps KVM's value (EAX)"
    CHECK_EQ rdx, r13, "LSTAR keeps KVM's value (EDX)"
    PAYLOAD_DONE

    [section .data]
    align 8
ranges:
    dd 1, MSR_SYSENTER_CS, 1, bitmap_deny       ; READ, SYSENTER_CS: denied
    dd 2, MSR_SYSENTER_ESP, 2, bitmap_esp_eip   ; WRITE, SYSENTER_ESP denied, SYSENTER_EIP allowed
    align 8
bitmap_deny:    dq 0
bitmap_esp_eip: dq 2
    __?SECT?__

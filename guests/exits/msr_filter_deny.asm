; KVM_X86_SET_MSR_FILTER without userspace exits (Linux 6.1 x86.c kvm_msr_allowed,
; kvm_emulate_rdmsr/wrmsr): a denied access is #GP(0) in the guest. DEFAULT_DENY denies
; every MSR no range covers; a range decides only for its access type (READ 1, WRITE 2),
; the first matching range wins, and the bitmap bit of an MSR (set = allowed) decides
; within it. x2APIC MSRs (800H-8FFH) are never filtered, which this payload cannot see
; without an in-kernel LAPIC in x2APIC mode and so does not check.
%include "payload.inc"
PAYLOAD msr_filter_deny, exits, long64, "MSR filter without exits: DEFAULT_DENY, range types, first range wins, #GP"
%define MSR_SYSENTER_CS  0x174
%define MSR_SYSENTER_ESP 0x175
%define MSR_SYSENTER_EIP 0x176
%define MSR_PAT          0x277

payload_main:
    ; Before the filter: PAT reads.
    mov ecx, MSR_PAT
    rdmsr
    mov r12d, eax
    VMCTL VMCTL_MSR_FILTER, 0, MSR_FILTER_DEFAULT_DENY, 3, 0, ranges
    CHECK_EQ rax, 0, "KVM_X86_SET_MSR_FILTER (DEFAULT_DENY, 3 ranges) succeeds"

    mov ecx, MSR_SYSENTER_CS
    TRY
    rdmsr
    CATCH_NONE "RDMSR SYSENTER_CS: allowed by the first READ range"
    mov ecx, MSR_SYSENTER_CS
    xor edx, edx
    mov eax, 8
    TRY
    wrmsr
    CATCH VEC_GP, 0, "WRMSR SYSENTER_CS: no WRITE range covers it, so DEFAULT_DENY: #GP(0)"
    mov ecx, MSR_SYSENTER_ESP
    TRY
    rdmsr
    CATCH VEC_GP, 0, "RDMSR SYSENTER_ESP: its bit in the first READ range is clear: #GP(0)"
    mov ecx, MSR_SYSENTER_EIP
    TRY
    rdmsr
    CATCH_NONE "RDMSR SYSENTER_EIP: bit 2 of the first READ range is set"
    mov ecx, MSR_SYSENTER_EIP
    xor edx, edx
    mov eax, 0x1000
    TRY
    wrmsr
    CATCH_NONE "WRMSR SYSENTER_EIP: allowed by the WRITE range"
    mov ecx, MSR_PAT
    TRY
    rdmsr
    CATCH VEC_GP, 0, "RDMSR PAT: the first READ range covers it with its bit clear (the allowing third range is never reached): #GP(0)"
    mov ecx, MSR_PAT
    xor edx, edx
    mov eax, r12d
    TRY
    wrmsr
    CATCH VEC_GP, 0, "WRMSR PAT: outside every WRITE range, DEFAULT_DENY: #GP(0)"
    PAYLOAD_DONE

    [section .data]
    align 8
ranges:
    dd 1, MSR_SYSENTER_CS, 0x104, bitmap_read     ; READ 174H..277H
    dd 2, MSR_SYSENTER_EIP, 1, bitmap_all         ; WRITE 176H
    dd 1, MSR_PAT, 1, bitmap_all                  ; READ 277H: never reached (the first range covers it)
    align 8
bitmap_read:
    dq 0x5                                        ; 174H and 176H allowed; 277H (bit 103) denied
    times 4 dq 0
bitmap_all:
    dq 1
    __?SECT?__

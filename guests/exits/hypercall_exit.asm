; VMCALL and KVM_CAP_EXIT_HYPERCALL (Linux 6.1 x86.c kvm_emulate_hypercall,
; complete_hypercall_exit). Without the capability KVM_HC_MAP_GPA_RANGE (12) is
; -KVM_ENOSYS (-1000) like any hypercall KVM lacks; with it, a page-aligned GPA and a
; non-zero page count that does not wrap exit to userspace as KVM_EXIT_HYPERCALL (nr,
; args[0..2] = RBX, RCX, RDX, longmode), and userspace's hypercall.ret comes back in
; RAX when the VMCALL completes; a bad range is -KVM_EINVAL (-22) without an exit. The
; harness answers ret = args[0] + args[1] + args[2] and leaves longmode << 31 | nr in the
; latch (host request 0x11, guests/README.md).
%include "payload.inc"
PAYLOAD hypercall_exit, exits, long64, "KVM_EXIT_HYPERCALL for KVM_HC_MAP_GPA_RANGE: args, ret, -EINVAL and -ENOSYS"
%define KVM_HC_MAP_GPA_RANGE 12

payload_main:
    ; Not enabled yet: KVM has no such hypercall of its own.
    mov eax, KVM_HC_MAP_GPA_RANGE
    mov ebx, 0x3000
    mov ecx, 4
    xor edx, edx
    vmcall
    CHECK_EQ rax, -1000, "KVM_HC_MAP_GPA_RANGE before KVM_CAP_EXIT_HYPERCALL: RAX = -KVM_ENOSYS"

    VMCTL VMCTL_HYPERCALL, 0, 0, 0, 1 << KVM_HC_MAP_GPA_RANGE, 0
    CHECK_EQ rax, 0, "KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL, 1 << 12) succeeds"

    mov eax, KVM_HC_MAP_GPA_RANGE
    mov rbx, 0x123456789000        ; 64-bit arguments pass whole in 64-bit mode
    mov ecx, 4
    mov edx, 0x10
    vmcall
    mov rsi, 0x123456789000 + 4 + 0x10
    CHECK_EQ rax, rsi, "RAX = userspace's ret (the harness returns args[0] + args[1] + args[2])"
    in eax, 0xE0
    CHECK_EQ rax, (1 << 31) | KVM_HC_MAP_GPA_RANGE, "the exit had nr 12 and longmode 1"
    CHECK_EQ rbx, 0x123456789000, "RBX (args[0]) is unchanged"

    ; Bad ranges: -KVM_EINVAL, no exit (the latch keeps the last exit's value).
    out 0xE0, eax                  ; latch := the value just read, so a new exit would show
    mov eax, KVM_HC_MAP_GPA_RANGE
    mov ebx, 0x3001
    mov ecx, 1
    xor edx, edx
    vmcall
    CHECK_EQ rax, -22, "KVM_HC_MAP_GPA_RANGE of an unaligned GPA: RAX = -KVM_EINVAL"
    mov eax, KVM_HC_MAP_GPA_RANGE
    mov ebx, 0x3000
    xor ecx, ecx
    vmcall
    CHECK_EQ rax, -22, "KVM_HC_MAP_GPA_RANGE of 0 pages: RAX = -KVM_EINVAL"
    mov eax, KVM_HC_MAP_GPA_RANGE
    mov rbx, 0xFFFFFFFFFFFFF000    ; GFN 2^52 - 1
    mov rcx, 0xFFF0000000000001    ; GFN + npages = 2^64: wraps to 0
    vmcall
    CHECK_EQ rax, -22, "KVM_HC_MAP_GPA_RANGE whose GFN + npages wraps past 2^64: RAX = -KVM_EINVAL"
    mov eax, 99
    vmcall
    CHECK_EQ rax, -1000, "an unknown hypercall (99): RAX = -KVM_ENOSYS"
    in eax, 0xE0
    CHECK_EQ rax, (1 << 31) | KVM_HC_MAP_GPA_RANGE, "none of these exited to userspace"
    PAYLOAD_DONE

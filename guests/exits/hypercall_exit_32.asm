; KVM_EXIT_HYPERCALL from 32-bit protected mode (Linux 6.1 x86.c kvm_emulate_hypercall:
; outside 64-bit mode nr and the arguments are cut to 32 bits and longmode is 0;
; complete_hypercall_exit cuts userspace's ret to 32 bits). The harness answers
; ret = args[0] + args[1] + args[2]; 0FFFFF000H + 2000H carries into bit 32, which the
; guest must not see. See exits/hypercall_exit for the 64-bit rules.
%include "payload.inc"
PAYLOAD hypercall_exit_32, exits, prot32, "KVM_EXIT_HYPERCALL in 32-bit mode: longmode 0, ret cut to 32 bits"
%define KVM_HC_MAP_GPA_RANGE 12

payload_main:
    VMCTL VMCTL_HYPERCALL, 0, 0, 0, 1 << KVM_HC_MAP_GPA_RANGE, 0
    CHECK_EQ eax, 0, "KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL, 1 << 12) succeeds"
    mov eax, KVM_HC_MAP_GPA_RANGE
    mov ebx, 0xFFFFF000
    mov ecx, 0x2000
    xor edx, edx
    vmcall
    CHECK_EQ eax, 0x1000, "RAX = the low 32 bits of userspace's ret (FFFFF000H + 2000H)"
    in eax, 0xE0
    CHECK_EQ eax, KVM_HC_MAP_GPA_RANGE, "the exit had nr 12 and longmode 0"
    mov eax, KVM_HC_MAP_GPA_RANGE
    mov ebx, 0x1800
    mov ecx, 1
    vmcall
    CHECK_EQ eax, -22, "an unaligned GPA: EAX = -KVM_EINVAL (32 bits)"
    PAYLOAD_DONE

; A slot created while the guest runs is guest memory at once: reads return its contents
; (filled with 0x5A by the harness), writes are kept, at its first and its last byte.
; Linux 6.1 virt/kvm/kvm_main.c __kvm_set_memory_region (KVM_MR_CREATE) installs the slot
; before the ioctl returns, so the next guest access faults it in (mmu.c kvm_faultin_pfn).
%include "payload.inc"
%define SLOT_GPA 0x40000000
PAYLOAD memslot_create_read, mmu, long64, "a run-time slot reads its contents and keeps writes, first and last byte"
payload_main:
    mov rbx, SLOT_GPA
    MEMSLOT MS_CREATE, 16, SLOT_GPA, 0x20000, MS_FILL(0x5a), 0
    CHECK_EQ eax, 0, "KVM_SET_USER_MEMORY_REGION creating slot 16 succeeds"
    movzx ecx, byte [rbx]
    CHECK_EQ ecx, 0x5a, "first byte reads the fill"
    movzx ecx, byte [rbx + 0x1ffff]
    CHECK_EQ ecx, 0x5a, "last byte reads the fill"
    mov rdx, 0x1122334455667788
    mov [rbx + 0x1fff8], rdx
    mov rcx, [rbx + 0x1fff8]
    CHECK_EQ rcx, 0x1122334455667788, "a qword written at the end reads back"
    movzx ecx, byte [rbx + 0x20000]
    CHECK_EQ ecx, 0xff, "the byte after the slot has no memory: reads all ones"
    PAYLOAD_DONE

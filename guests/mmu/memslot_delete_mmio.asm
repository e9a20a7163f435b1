; After KVM_SET_USER_MEMORY_REGION deletes a slot (size 0), its GPAs have no memory: the
; next read exits as KVM_EXIT_MMIO (the harness answers all ones) and a write exits and is
; dropped, even though the guest read and wrote the page just before (KVM zaps the slot's
; SPTEs on KVM_MR_DELETE: kvm_main.c kvm_set_memslot -> kvm_arch_flush_shadow_memslot).
; Deleting it again is EINVAL (__kvm_set_memory_region: no such slot).
%include "payload.inc"
%define SLOT_GPA 0x40000000
PAYLOAD memslot_delete_mmio, mmu, long64, "a deleted slot's GPAs exit as MMIO at once; deleting twice is EINVAL"
payload_main:
    mov rbx, SLOT_GPA
    MEMSLOT MS_CREATE, 16, SLOT_GPA, 0x4000, 0, 0
    CHECK_EQ eax, 0, "create slot 16"
    mov dword [rbx + 0x1000], 0xabcd1234
    mov ecx, [rbx + 0x1000]
    CHECK_EQ ecx, 0xabcd1234, "the slot holds a write (its SPTE is now present)"
    MEMSLOT MS_DELETE, 16, 0, 0, 0, 0
    CHECK_EQ eax, 0, "delete slot 16"
    mov ecx, [rbx + 0x1000]
    CHECK_EQ ecx, 0xffffffff, "after the delete the same dword reads all ones (MMIO, no stale SPTE)"
    mov dword [rbx + 0x1000], 0x55
    mov ecx, [rbx + 0x1000]
    CHECK_EQ ecx, 0xffffffff, "a write after the delete is dropped"
    MEMSLOT MS_DELETE, 16, SLOT_GPA, 0, 0, 0
    CHECK_EQ rax, -22, "deleting slot 16 again: -EINVAL"
    PAYLOAD_DONE

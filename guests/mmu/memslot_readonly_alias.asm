; A read-only view of memory: slot 17 maps slot 16's host memory with KVM_MEM_READONLY.
; A write through the read-write slot is visible through the read-only one; a write
; through the read-only slot exits as KVM_EXIT_MMIO and changes nothing (mmu.c: writes to
; a read-only memslot are MMIO).  The READONLY flag of an existing slot cannot change:
; KVM_SET_USER_MEMORY_REGION answers EINVAL (kvm_main.c __kvm_set_memory_region).
%include "payload.inc"
%define RW_GPA 0x40000000
%define RO_GPA 0x40100000
PAYLOAD memslot_readonly_alias, mmu, long64, "a read-only slot over shared memory: reads see writes, its own writes exit"
payload_main:
    MEMSLOT MS_CREATE, 16, RW_GPA, 0x2000, 0, 0
    CHECK_EQ eax, 0, "create read-write slot 16"
    MEMSLOT MS_CREATE, 17, RO_GPA, 0x2000, MS_F_RO, 16
    CHECK_EQ eax, 0, "create read-only slot 17 over slot 16's memory"
    mov rbx, RW_GPA
    mov rsi, RO_GPA
    mov dword [rbx + 0x1004], 0x13572468
    mov ecx, [rsi + 0x1004]
    CHECK_EQ ecx, 0x13572468, "a write through slot 16 reads back through read-only slot 17"
    mov dword [rsi + 0x1004], 0x99
    mov ecx, [rbx + 0x1004]
    CHECK_EQ ecx, 0x13572468, "a write through the read-only slot changed nothing"
    mov ecx, [rsi + 0x1004]
    CHECK_EQ ecx, 0x13572468, "and reads through it still see the memory"
    MEMSLOT MS_FLAGS, 16, 0, 0, MS_F_RO, 0
    CHECK_EQ rax, -22, "setting READONLY on existing slot 16: -EINVAL"
    MEMSLOT MS_FLAGS, 17, 0, 0, 0, 0
    CHECK_EQ rax, -22, "clearing READONLY on existing slot 17: -EINVAL"
    PAYLOAD_DONE

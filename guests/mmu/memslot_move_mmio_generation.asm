; A slot moved onto a GPA where an MMIO access was cached is seen at once.  KVM caches "this
; GPA is MMIO" in MMIO SPTEs tagged with the memslot generation (mmu/spte.h make_mmio_spte,
; check_mmio_spte); KVM_MR_MOVE bumps the generation like a create does
; (kvm_swap_active_memslots), so the next access must read the slot.  And the GPA the slot
; left must read as MMIO again, even though it was mapped as RAM a moment before.
%include "payload.inc"
%define OLD_GPA 0x40000000
%define NEW_GPA 0x40800000
PAYLOAD memslot_move_mmio_generation, mmu, long64, "a slot moved where MMIO was cached is seen at once; its old GPA is MMIO again"
payload_main:
    mov rbx, NEW_GPA
    mov rcx, [rbx + 0x18]
    CHECK_EQ rcx, -1, "no slot yet: the GPA reads all ones (an MMIO exit)"
    mov rcx, [rbx + 0x18]
    CHECK_EQ rcx, -1, "again (now a cached MMIO SPTE on KVM)"
    MEMSLOT MS_CREATE, 16, OLD_GPA, 0x1000, 0, 0
    CHECK_EQ eax, 0, "create slot 16 elsewhere"
    mov r12, OLD_GPA
    mov qword [r12 + 0x18], 0x5107
    MEMSLOT MS_MOVE, 16, NEW_GPA, 0, 0, 0
    CHECK_EQ eax, 0, "move it onto the cached MMIO GPA"
    mov rcx, [rbx + 0x18]
    CHECK_EQ rcx, 0x5107, "the moved slot is read, not the stale MMIO SPTE"
    mov rcx, [r12 + 0x18]
    CHECK_EQ rcx, -1, "the old GPA reads all ones"
    PAYLOAD_DONE

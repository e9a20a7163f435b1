; KVM caches "this GPA is MMIO" in the shadow page tables (MMIO SPTEs with a memslot
; generation, arch/x86/kvm/mmu/spte.h make_mmio_spte / check_mmio_spte).  A slot created
; where an MMIO access was cached must be seen by the next access: the generation bump in
; kvm_swap_active_memslots makes the cached SPTE stale.  A port that keeps the cached
; MMIO SPTE reads all ones here.  Then the reverse: a cached RAM mapping must not survive
; the slot's deletion.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD memslot_mmio_generation, mmu, long64, "a slot created where MMIO was cached is seen at once (MMIO generation)"
payload_main:
    mov rbx, GPA
    mov ecx, [rbx + 0x10]
    CHECK_EQ ecx, 0xffffffff, "no slot yet: MMIO, all ones"
    mov ecx, [rbx + 0x10]
    CHECK_EQ ecx, 0xffffffff, "again (now a cached MMIO SPTE on KVM)"
    MEMSLOT MS_CREATE, 16, GPA, 0x1000, MS_FILL(0x77), 0
    CHECK_EQ eax, 0, "create slot 16 over the cached MMIO GPA"
    mov ecx, [rbx + 0x10]
    CHECK_EQ ecx, 0x77777777, "the next read comes from the new slot"
    MEMSLOT MS_DELETE, 16, 0, 0, 0, 0
    CHECK_EQ eax, 0, "delete it"
    mov ecx, [rbx + 0x10]
    CHECK_EQ ecx, 0xffffffff, "and the next read is MMIO again"
    PAYLOAD_DONE

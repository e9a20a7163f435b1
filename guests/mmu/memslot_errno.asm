; The errno a guest-driven VMM sees for bad run-time slots (kvm_main.c
; __kvm_set_memory_region, check_memory_region_flags): a GPA that is not page aligned or a
; size that is not a multiple of the page size is EINVAL; a slot over the RAM slot is
; EEXIST; an unknown flag is EINVAL; READONLY with LOG_DIRTY_PAGES is valid.  None of the
; refused requests may leave a slot behind: the GPA still reads all ones.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD memslot_errno, mmu, long64, "run-time slot errors: EINVAL for alignment and flags, EEXIST for overlap"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA + 0x800, 0x1000, 0, 0
    CHECK_EQ rax, -22, "GPA 0x40000800: -EINVAL"
    MEMSLOT MS_CREATE, 16, GPA, 0x1800, 0, 0
    CHECK_EQ rax, -22, "size 0x1800: -EINVAL"
    MEMSLOT MS_CREATE, 16, 0x1000, 0x1000, 0, 0
    CHECK_EQ rax, -17, "over the RAM slot: -EEXIST"
    MEMSLOT MS_CREATE, 16, GPA, 0x1000, 4, 0
    CHECK_EQ rax, -22, "flags bit 2: -EINVAL"
    mov rbx, GPA
    mov ecx, [rbx]
    CHECK_EQ ecx, 0xffffffff, "the refused requests left no slot behind"
    MEMSLOT MS_CREATE, 16, GPA, 0x1000, MS_F_RO | MS_F_LOG | MS_FILL(0x42), 0
    CHECK_EQ eax, 0, "READONLY | LOG_DIRTY_PAGES is valid"
    movzx ecx, byte [rbx]
    CHECK_EQ ecx, 0x42, "and that slot reads its memory"
    PAYLOAD_DONE

; Two run-time slots side by side (one page each, adjacent GPAs) behave as separate memory,
; and deleting the first leaves the second intact: an access that straddles the boundary
; reads one byte from each (page-crossing accesses are split per page: SDM Vol. 3A 4.10.2;
; KVM's emulator splits MMIO and memory the same way).  A port with an off-by-one in its
; slot lookup (gfn >= base + npages) reads the wrong slot at the boundary.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD memslot_two_slots_one_page_each, mmu, long64, "adjacent one-page slots: the boundary byte belongs to the right slot"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 0x1000, MS_FILL(0x11), 0
    CHECK_EQ eax, 0, "slot 16: one page of 0x11"
    MEMSLOT MS_CREATE, 17, GPA + 0x1000, 0x1000, MS_FILL(0x22), 0
    CHECK_EQ eax, 0, "slot 17: the next page, of 0x22"
    mov rbx, GPA
    movzx ecx, byte [rbx + 0xFFF]
    CHECK_EQ rcx, 0x11, "last byte of slot 16"
    movzx ecx, byte [rbx + 0x1000]
    CHECK_EQ rcx, 0x22, "first byte of slot 17"
    movzx ecx, word [rbx + 0xFFF]
    CHECK_EQ rcx, 0x2211, "a word across the boundary: one byte of each"
    MEMSLOT MS_DELETE, 16, 0, 0, 0, 0
    CHECK_EQ eax, 0, "delete slot 16"
    movzx ecx, byte [rbx + 0x1000]
    CHECK_EQ rcx, 0x22, "slot 17 is intact"
    movzx ecx, byte [rbx + 0xFFF]
    CHECK_EQ rcx, 0xFF, "slot 16's last byte is gone"
    PAYLOAD_DONE

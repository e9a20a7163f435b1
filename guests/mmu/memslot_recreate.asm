; A slot deleted and created again at the same GPA with new host memory: the guest must
; see the new memory (filled 0x3C), not the old page it read before the delete.  A port
; that keeps a GPA->host mapping cached across KVM_MR_DELETE / KVM_MR_CREATE reads 0x11.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD memslot_recreate, mmu, long64, "a slot recreated at the same GPA shows its new memory"
payload_main:
    mov rbx, GPA
    MEMSLOT MS_CREATE, 16, GPA, 0x1000, MS_FILL(0x11), 0
    CHECK_EQ eax, 0, "create slot 16 (fill 0x11)"
    movzx ecx, byte [rbx + 0x40]
    CHECK_EQ ecx, 0x11, "reads the first memory"
    MEMSLOT MS_DELETE, 16, 0, 0, 0, 0
    CHECK_EQ eax, 0, "delete it"
    MEMSLOT MS_CREATE, 16, GPA, 0x1000, MS_FILL(0x3c), 0
    CHECK_EQ eax, 0, "create slot 16 again with new memory (fill 0x3c)"
    movzx ecx, byte [rbx + 0x40]
    CHECK_EQ ecx, 0x3c, "reads the new memory"
    PAYLOAD_DONE

; KVM_MR_MOVE: the same slot (same host memory) at a new GPA.  The data written before the
; move is at the new GPA; the old GPA has no memory (reads all ones), also for a page the
; guest had touched.  kvm_main.c __kvm_set_memory_region (base_gfn changed -> KVM_MR_MOVE).
%include "payload.inc"
%define OLD_GPA 0x40000000
%define NEW_GPA 0x40200000
PAYLOAD memslot_move, mmu, long64, "a moved slot's data is at the new GPA and the old GPA is gone"
payload_main:
    MEMSLOT MS_CREATE, 16, OLD_GPA, 0x3000, 0, 0
    CHECK_EQ eax, 0, "create slot 16 at the old GPA"
    mov rbx, OLD_GPA
    mov qword [rbx + 0x2008], 0x600dcafe
    MEMSLOT MS_MOVE, 16, NEW_GPA, 0, 0, 0
    CHECK_EQ eax, 0, "move slot 16"
    mov rbx, NEW_GPA
    mov rcx, [rbx + 0x2008]
    CHECK_EQ rcx, 0x600dcafe, "the data is at the new GPA"
    mov rbx, OLD_GPA
    mov rcx, [rbx + 0x2008]
    CHECK_EQ rcx, -1, "the old GPA reads all ones"
    MEMSLOT MS_MOVE, 16, 0x100000, 0, 0, 0
    CHECK_EQ rax, -17, "moving onto the RAM slot: -EEXIST"
    mov rbx, NEW_GPA
    mov rcx, [rbx + 0x2008]
    CHECK_EQ rcx, 0x600dcafe, "the refused move left the slot where it was"
    PAYLOAD_DONE

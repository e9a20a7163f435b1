; Two read-write slots backed by the same host memory (a VMM's alias): a write through
; either GPA is seen through the other at once, also after both pages were read (no stale
; copy).  KVM allows overlapping userspace ranges; only GPA ranges must not overlap
; (kvm_main.c kvm_check_memslot_overlap).
%include "payload.inc"
%define A_GPA 0x40000000
%define B_GPA 0x48000000
PAYLOAD memslot_shared_alias, mmu, long64, "two slots sharing memory see each other's writes"
payload_main:
    MEMSLOT MS_CREATE, 16, A_GPA, 0x1000, 0, 0
    CHECK_EQ eax, 0, "create slot 16"
    MEMSLOT MS_CREATE, 17, B_GPA, 0x1000, 0, 16
    CHECK_EQ eax, 0, "create slot 17 sharing slot 16's memory"
    mov rbx, A_GPA
    mov rsi, B_GPA
    mov rcx, [rbx + 0x800]
    mov rcx, [rsi + 0x800]
    mov qword [rbx + 0x800], 0xa1
    mov rcx, [rsi + 0x800]
    CHECK_EQ rcx, 0xa1, "written through A, read through B"
    mov qword [rsi + 0x800], 0xb2
    mov rcx, [rbx + 0x800]
    CHECK_EQ rcx, 0xb2, "written through B, read through A"
    MEMSLOT MS_CREATE, 18, A_GPA + 0x1000, 0x1000, 0, 0
    CHECK_EQ eax, 0, "a slot right after slot 16 does not overlap"
    MEMSLOT MS_CREATE, 19, A_GPA, 0x1000, 0, 0
    CHECK_EQ rax, -17, "a slot over slot 16's GPA range: -EEXIST"
    PAYLOAD_DONE

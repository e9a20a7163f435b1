; A slot deleted and created again smaller at the same GPA: the pages past its new end have
; no memory (reads all ones, writes are dropped), including a page the guest had mapped and
; written when the slot was larger.  A port that keeps a stale size or a stale mapping for
; that page reads the old data.  kvm_main.c __kvm_set_memory_region (delete, then create).
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD memslot_shrink, mmu, long64, "a slot created again smaller: pages past its end are gone"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 4 * 4096, 0, 0
    CHECK_EQ eax, 0, "create 4 pages"
    mov rbx, GPA
    mov qword [rbx + 3 * 4096], 0x3333
    mov qword [rbx + 0 * 4096], 0x1111
    MEMSLOT MS_DELETE, 16, 0, 0, 0, 0
    CHECK_EQ eax, 0, "delete it"
    MEMSLOT MS_CREATE, 16, GPA, 2 * 4096, 0, 0
    CHECK_EQ eax, 0, "create it again with 2 pages"
    mov rcx, [rbx + 3 * 4096]
    CHECK_EQ rcx, -1, "page 3 is past the end: all ones"
    mov qword [rbx + 3 * 4096], 0x4444
    mov rcx, [rbx + 3 * 4096]
    CHECK_EQ rcx, -1, "and a write there is dropped"
    mov rcx, [rbx + 0 * 4096]
    CHECK_EQ rcx, 0, "page 0 is new memory: zero"
    PAYLOAD_DONE

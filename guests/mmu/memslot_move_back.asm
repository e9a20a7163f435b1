; A slot moved away and back: its data is at the original GPA again and the GPA it visited
; is MMIO again.  Two KVM_MR_MOVEs in a row exercise the MMU's zap of the old range and the
; MMIO generation both ways (kvm_main.c __kvm_set_memory_region, mmu.c
; kvm_arch_flush_shadow_memslot).
%include "payload.inc"
%define HOME_GPA 0x40000000
%define AWAY_GPA 0x41000000
PAYLOAD memslot_move_back, mmu, long64, "a slot moved away and back: data home again, the visited GPA empty"
payload_main:
    MEMSLOT MS_CREATE, 16, HOME_GPA, 2 * 4096, 0, 0
    CHECK_EQ eax, 0, "create slot 16"
    mov rbx, HOME_GPA
    mov r12, AWAY_GPA
    mov qword [rbx + 4096 + 8], 0xB0B0
    MEMSLOT MS_MOVE, 16, AWAY_GPA, 0, 0, 0
    CHECK_EQ eax, 0, "move away"
    mov rcx, [r12 + 4096 + 8]
    CHECK_EQ rcx, 0xB0B0, "the data is away"
    mov qword [r12 + 4096 + 16], 0xC0C0
    MEMSLOT MS_MOVE, 16, HOME_GPA, 0, 0, 0
    CHECK_EQ eax, 0, "move back"
    mov rcx, [rbx + 4096 + 8]
    CHECK_EQ rcx, 0xB0B0, "the first write is home"
    mov rcx, [rbx + 4096 + 16]
    CHECK_EQ rcx, 0xC0C0, "the write made while away is home too"
    mov rcx, [r12 + 4096 + 8]
    CHECK_EQ rcx, -1, "the visited GPA reads all ones"
    PAYLOAD_DONE

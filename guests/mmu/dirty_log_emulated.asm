; A write made by KVM's instruction emulator is logged too: MOVSB from a `ram` MMIO window
; into a logging slot makes KVM emulate the MOVSB (the source is MMIO) and the emulator
; writes the destination page (x86.c emulator_write_emulated -> kvm_vcpu_write_guest ->
; mark_page_dirty_in_slot).  A port whose emulator writes guest memory behind the dirty
; log's back leaves bit 6 clear.
%define PL_WINDOW0 0x50000000, 0x1000, WIN_RAM, 0x99
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD dirty_log_emulated, mmu, long64, "dirty log: a write by the emulator (MOVSB from MMIO) is logged"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 8 * 4096, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create a logging slot of 8 pages"
    mov rsi, 0x50000000
    mov rdi, GPA + 6 * 4096 + 9
    movsb
    mov rbx, GPA
    movzx ecx, byte [rbx + 6 * 4096 + 9]
    CHECK_EQ ecx, 0x99, "the byte came from the window"
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    mov rcx, [bitmap]
    CHECK_EQ rcx, 1 << 6, "bit 6: the page the emulated MOVSB wrote"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 4
    [section .text]

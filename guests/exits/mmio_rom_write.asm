; A `rom` window is a KVM_MEM_READONLY slot.  KVM API (KVM_SET_USER_MEMORY_REGION,
; KVM_MEM_READONLY): reads are served from the slot, writes exit to userspace as
; KVM_EXIT_MMIO; the slot's content does not change.
%define PL_WINDOW0 0x40000000, 0x1000, WIN_ROM, 0xA5
%include "payload.inc"
PAYLOAD mmio_rom_write, exits, long64, "write to a read-only slot exits as MMIO, content unchanged"
payload_main:
    mov ebx, 0x40000000
    mov rax, [rbx + 0x100]
    CHECK_EQ rax, 0xA5A5A5A5A5A5A5A5, "rom reads the fill byte"
    mov dword [rbx + 0x100], 0x12345678
    mov byte [rbx + 0xFFF], 0
    mov rax, [rbx + 0x100]
    CHECK_EQ rax, 0xA5A5A5A5A5A5A5A5, "rom content unchanged after a dword write"
    movzx eax, byte [rbx + 0xFFF]
    CHECK_EQ eax, 0xA5, "rom content unchanged after a byte write"
    PAYLOAD_DONE

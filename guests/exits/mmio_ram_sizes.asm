; MMIO of 1, 2, 4 and 8 bytes to a `ram` window (a userspace device that behaves
; like memory).  Each access is one KVM_EXIT_MMIO with len = operand size; the
; values read must be the bytes written (little endian, SDM Vol. 1 1.3.1).
%define PL_WINDOW0 0x40000000, 0x1000, WIN_RAM, 0x00
%include "payload.inc"
PAYLOAD mmio_ram_sizes, exits, long64, "MMIO reads/writes of 1, 2, 4 and 8 bytes to a ram window"
payload_main:
    mov ebx, 0x40000000
    mov rax, [rbx]
    CHECK_EQ rax, 0, "ram window initial content = fill (0)"
    mov byte [rbx], 0x11
    mov word [rbx + 2], 0x3322
    mov dword [rbx + 4], 0x77665544
    mov rax, 0xFFEEDDCCBBAA9988
    mov [rbx + 8], rax
    movzx eax, byte [rbx]
    CHECK_EQ eax, 0x11, "1-byte read back"
    movzx eax, word [rbx + 2]
    CHECK_EQ eax, 0x3322, "2-byte read back"
    mov eax, [rbx + 4]
    CHECK_EQ eax, 0x77665544, "4-byte read back"
    mov rax, [rbx + 8]
    CHECK_EQ rax, 0xFFEEDDCCBBAA9988, "8-byte read back"
    mov rax, [rbx]
    CHECK_EQ rax, 0x7766554433220011, "8-byte read across the 1/2/4-byte writes"
    mov eax, [rbx + 6]              ; unaligned 4-byte read inside the window
    CHECK_EQ eax, 0x99887766, "unaligned 4-byte read"
    PAYLOAD_DONE

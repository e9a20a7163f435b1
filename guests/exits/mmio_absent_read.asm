; An `absent` window has no memory slot and no device: KVM exits with
; KVM_EXIT_MMIO and the harness returns all ones for reads, drops writes (as an
; unclaimed bus cycle on a PC).
%define PL_WINDOW0 0x40000000, 0x1000, WIN_ABSENT, 0x00
%include "payload.inc"
PAYLOAD mmio_absent_read, exits, long64, "reads of an absent window return all ones, writes dropped"
payload_main:
    mov ebx, 0x40000000
    movzx eax, byte [rbx]
    CHECK_EQ eax, 0xFF, "1-byte read = 0xFF"
    movzx eax, word [rbx + 2]
    CHECK_EQ eax, 0xFFFF, "2-byte read = 0xFFFF"
    mov eax, [rbx + 4]
    CHECK_EQ eax, 0xFFFFFFFF, "4-byte read = 0xFFFFFFFF"
    mov qword [rbx + 8], 0
    mov rax, [rbx + 8]
    CHECK_EQ rax, -1, "8-byte read after a write of 0 is still all ones"
    PAYLOAD_DONE

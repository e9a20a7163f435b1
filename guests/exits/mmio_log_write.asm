; Writes and reads to a `log` window: every access is a KVM_EXIT_MMIO that the
; harness records; reads return the fill byte in every position.
%define PL_WINDOW0 0x40000000, 0x1000, WIN_LOG, 0x5A
%include "payload.inc"
PAYLOAD mmio_log_write, exits, long64, "writes to a log window; reads return the fill byte"
payload_main:
    mov ebx, 0x40000000
    mov byte [rbx + 0x10], 0x01
    mov word [rbx + 0x20], 0x0302
    mov dword [rbx + 0x30], 0x07060504
    mov rax, 0x0F0E0D0C0B0A0908
    mov [rbx + 0x40], rax
    movzx eax, byte [rbx + 0x10]
    CHECK_EQ eax, 0x5A, "1-byte read of a log window returns the fill byte"
    mov rax, [rbx + 0x40]
    CHECK_EQ rax, 0x5A5A5A5A5A5A5A5A, "8-byte read returns fill in every byte (writes not stored)"
    PAYLOAD_DONE

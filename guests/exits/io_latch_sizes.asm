; IN/OUT of 1, 2 and 4 bytes with an immediate port on the latch device.
; SDM Vol. 2 IN/OUT: the operand size (AL/AX/EAX) selects an 8/16/32-bit access
; to port imm8; a 2-byte access at port p covers p and p+1.  The ABI latch maps
; ports 0xE0-0xE3 to bytes 0-3 of a register initialised to 0x44332211.
%include "payload.inc"
PAYLOAD io_latch_sizes, exits, long64, "IN/OUT of 1, 2 and 4 bytes (imm8 port) on the latch"
payload_main:
    in eax, PORT_LATCH
    CHECK_EQ eax, 0x44332211, "initial latch value (IN dword)"
    mov al, 0xAA
    out PORT_LATCH + 1, al          ; byte 1 only
    in eax, PORT_LATCH
    CHECK_EQ eax, 0x4433AA11, "OUT byte to port 0xE1 changes byte 1 only"
    mov ax, 0xBEEF
    out PORT_LATCH + 2, ax          ; bytes 2-3
    in eax, PORT_LATCH
    CHECK_EQ eax, 0xBEEFAA11, "OUT word to port 0xE2 changes bytes 2-3"
    mov eax, 0xFFFFFFFF
    in al, PORT_LATCH + 3           ; IN byte leaves RAX[63:8] unchanged
    CHECK_EQ eax, 0xFFFFFFBE, "IN byte from 0xE3 writes AL only"
    mov eax, 0x12340000
    in ax, PORT_LATCH + 1           ; IN word leaves RAX[63:16] unchanged
    CHECK_EQ eax, 0x1234EFAA, "IN word from 0xE1 writes AX only"
    mov rax, 0x1122334455667788
    mov eax, 0x01020304
    out PORT_LATCH, eax
    mov rax, -1
    in eax, PORT_LATCH              ; 32-bit destination zero-extends into RAX
    CHECK_EQ rax, 0x01020304, "IN dword zero-extends into RAX"
    PAYLOAD_DONE

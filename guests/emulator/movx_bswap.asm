; MOVZX/MOVSX/MOVSXD/BSWAP and 32-bit zero extension.  SDM Vol. 2 and Vol. 1
; 3.4.1.1: a 32-bit destination zero-extends into the 64-bit register; 8/16-bit
; destinations leave the upper bits unchanged.  MOVSX/MOVSXD sign-extend; BSWAP
; reverses byte order.
%include "payload.inc"
PAYLOAD movx_bswap, emulator, long64, "MOVZX/MOVSX/MOVSXD sign/zero extension, BSWAP, partial writes"
payload_main:
    mov byte [m], 0x80
    mov rax, -1
    movzx eax, byte [m]
    CHECK_EQ rax, 0x80, "movzx eax, byte: zero-extends to 64"
    movsx eax, byte [m]
    CHECK_EQ rax, 0xFFFFFF80, "movsx eax, byte: upper 32 cleared"
    mov word [m], 0x8000
    movsx rax, word [m]
    CHECK_EQ rax, 0xFFFFFFFFFFFF8000, "movsx rax, word"
    mov dword [m], 0x80000000
    movsxd rax, dword [m]
    CHECK_EQ rax, 0xFFFFFFFF80000000, "movsxd rax, dword"
    mov rbx, -1
    mov bx, 0x1234                  ; 16-bit write keeps bits 63:16
    CHECK_EQ rbx, 0xFFFFFFFFFFFF1234, "mov bx keeps the upper bits"
    mov bl, 0x56
    mov bh, 0x78
    CHECK_EQ rbx, 0xFFFFFFFFFFFF7856, "mov bl/bh write bytes 0/1 only"
    mov eax, 0x12345678
    bswap eax
    CHECK_EQ rax, 0x78563412, "bswap eax"
    mov rax, 0x0102030405060708
    bswap rax
    CHECK_EQ rax, 0x0807060504030201, "bswap rax"
    PAYLOAD_DONE
    align 8
m: dq 0

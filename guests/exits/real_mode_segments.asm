; Real mode (SDM Vol. 3 20.1.1): linear address = selector * 16 + offset, 16-bit
; offsets, no protection.  The payload stays in real mode (mode real16).
%include "payload.inc"
PAYLOAD real_mode_segments, exits, real16, "real mode: segment*16+offset addressing and 16-bit wrap"
payload_main:
    mov eax, cr0
    CHECK_MASK eax, 1, 0, "CR0.PE = 0"
    mov ax, 0x0800                  ; 0x0800:0000 = linear 0x8000 = the header
    mov es, ax
    mov eax, [es:0]
    CHECK_EQ eax, 0x554D564B, "ES=0x800: [ES:0] is the header magic 'KVMU'"
    mov ax, 0x07FF                  ; 0x07FF:0010 is the same linear byte
    mov es, ax
    mov eax, [es:0x10]
    CHECK_EQ eax, 0x554D564B, "ES=0x7FF: [ES:0x10] aliases linear 0x8000"
    xor ax, ax
    mov es, ax
    mov si, 0xFFFF
    inc si                          ; 16-bit offset arithmetic wraps to 0
    movzx eax, si
    CHECK_EQ eax, 0, "16-bit SI wraps from 0xFFFF to 0"
    mov al, 0x3C
    out PORT_LATCH, al
    in eax, PORT_LATCH
    CHECK_EQ eax, 0x4433223C, "port I/O works in real mode"
    ret

; REP OUTSB: SDM Vol. 2 OUTS/REP: outputs RCX bytes from [RSI] to port DX, RSI
; advances by 1 per byte (DF=0), RCX counts down to 0.  Every byte goes to the
; same port, so the latch byte keeps the last one.
%include "payload.inc"
PAYLOAD io_rep_outsb, exits, long64, "REP OUTSB to a latch port: count, RSI/RCX update"
payload_main:
    cld
    mov dx, PORT_LATCH + 1
    mov rsi, src
    mov ecx, 4
    rep outsb
    CHECK_EQ rcx, 0, "RCX = 0 after REP OUTSB"
    CHECK_EQ rsi, src + 4, "RSI advanced by 4"
    in eax, PORT_LATCH
    CHECK_EQ eax, 0x4433D411, "latch byte 1 holds the last byte output"
    mov dx, PORT_LATCH
    mov rsi, src + 3
    mov ecx, 2
    std                             ; DF=1: RSI decrements
    rep outsb
    cld
    CHECK_EQ rsi, src + 1, "RSI decremented by 2 with DF=1"
    in eax, PORT_LATCH
    CHECK_EQ eax, 0x4433D4C3, "latch byte 0 = src[2] (last byte, DF=1)"
    PAYLOAD_DONE
src: db 0xA1, 0xB2, 0xC3, 0xD4

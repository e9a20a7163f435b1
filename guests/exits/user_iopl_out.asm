; CPL3 port I/O with RFLAGS.IOPL = 3.  SDM Vol. 1 "I/O Privilege Level" and
; "I/O Permission Bit Map": IN/OUT at CPL > IOPL consult the TSS I/O bitmap; at
; CPL <= IOPL they are always allowed.  The
; boot path IRETQs to CPL3 with RFLAGS = 0x3002, so PUSHFQ reads IOPL = 3, IF = 0
; (SDM Vol. 2 IRET: IOPL and IF are loaded from the stack at CPL0).
%include "payload.inc"
PAYLOAD user_iopl_out, exits, user64, "CPL3 with IOPL=3: OUT/IN allowed, PUSHFQ shows IOPL=3 IF=0"
payload_main:
    pushfq
    pop rbx
    CHECK_MASK rbx, FL_IF | (3 << 12), 3 << 12, "RFLAGS at CPL3: IOPL = 3, IF = 0"
    mov eax, cs
    CHECK_MASK eax, 3, 3, "CS.RPL = 3 (CPL3)"
    TRY
    mov al, 0x42
    out PORT_LATCH, al
    in eax, PORT_LATCH
    mov [latch], eax
    CATCH_NONE "OUT/IN at CPL3 with IOPL=3 do not fault"
    mov eax, [latch]
    CHECK_EQ eax, 0x44332242, "the OUT at CPL3 reached the latch, IN read it back"
    ret
    align 8
latch: dq 0

; IN/OUT with the port in DX.  SDM Vol. 2 IN/OUT: "IN AL, DX" / "OUT DX, EAX"
; address the port DX (0..0xFFFF); the data are the same as with imm8 ports.
; A port outside the ABI devices reads all ones (harness rule).
%include "payload.inc"
PAYLOAD io_dx_port, exits, long64, "IN/OUT with the port number in DX"
payload_main:
    mov dx, PORT_LATCH
    mov eax, 0xCAFEF00D
    out dx, eax
    xor eax, eax
    in eax, dx
    CHECK_EQ eax, 0xCAFEF00D, "OUT/IN dword via DX"
    mov dx, PORT_LATCH + 3
    mov al, 0x5C
    out dx, al
    mov dx, PORT_LATCH + 2
    xor eax, eax
    in ax, dx
    CHECK_EQ eax, 0x5CFE, "OUT byte DX=0xE3, IN word DX=0xE2"
    mov dx, 0x1234                  ; no device: the harness returns all ones
    xor eax, eax
    in eax, dx
    CHECK_EQ eax, 0xFFFFFFFF, "IN from an unclaimed port (DX=0x1234) reads all ones"
    mov ecx, edx
    CHECK_EQ ecx, 0x1234, "DX preserved by IN"
    PAYLOAD_DONE

; REP INSB / REP INSW: SDM Vol. 2 INS/REP: reads RCX items from port DX to
; [RDI], RDI advances by the item size (DF=0), RCX counts down to 0.
%include "payload.inc"
PAYLOAD io_rep_insb, exits, long64, "REP INSB and REP INSW from latch ports into memory"
payload_main:
    cld
    mov dword [buf], 0
    mov dword [buf + 4], 0
    mov dx, PORT_LATCH + 1
    mov rdi, buf
    mov ecx, 3
    rep insb                        ; three copies of latch byte 1 (0x22)
    CHECK_EQ rcx, 0, "RCX = 0 after REP INSB"
    CHECK_EQ rdi, buf + 3, "RDI advanced by 3"
    mov eax, [buf]
    CHECK_EQ eax, 0x00222222, "three bytes read, the fourth untouched"
    mov dx, PORT_LATCH + 2
    mov rdi, buf + 4
    mov ecx, 2
    rep insw                        ; two copies of latch bytes 2-3 (0x4433)
    CHECK_EQ rdi, buf + 8, "RDI advanced by 2 words"
    mov eax, [buf + 4]
    CHECK_EQ eax, 0x44334433, "two words read"
    PAYLOAD_DONE
    align 8
buf: dq 0

; INT n / IRET and exceptions in real mode.  SDM Vol. 3 20.1.4: real-mode
; interrupts vector through the IVT (4-byte IP:CS entries at 4*n from IDTR base
; 0); INT pushes FLAGS, CS, IP (16-bit each), clears IF and TF; IRET pops them.
; #DE (DIV by zero) is delivered the same way with IP = the faulting DIV.
%include "payload.inc"
PAYLOAD real_int_iret, emulator, real16, "real mode: INT n/IRET through the IVT, #DE through the IVT"
payload_main:
    SET_HANDLER 0x30, handler
    mov word [count], 0
    mov bx, sp
    sti
    int 0x30
after_int:
    cli
    movzx eax, word [count]
    CHECK_EQ eax, 1, "INT 0x30 handler ran once"
    movzx eax, word [frame_ip]
    CHECK_EQ eax, after_int, "pushed IP = instruction after INT"
    movzx eax, word [frame_cs]
    CHECK_EQ eax, 0, "pushed CS = 0"
    movzx eax, word [frame_fl]
    CHECK_MASK eax, FL_IF, FL_IF, "pushed FLAGS has IF = 1"
    movzx eax, word [in_fl]
    CHECK_MASK eax, FL_IF, 0, "IF = 0 in the handler"
    movzx eax, sp
    movzx ebx, bx
    CHECK_EQ eax, ebx, "SP restored by IRET"
    xor cx, cx
    mov ax, 7
    TRY
div_insn:
    div cx                          ; DX:AX / 0
    CATCH VEC_DE, "DIV by zero: #DE through the IVT"
    CHECK_EQ [__exc_rip], div_insn, "#DE saved IP = the DIV"
    ret
handler:
    inc word [count]
    push bp
    mov bp, sp
    mov ax, [bp + 2]
    mov [frame_ip], ax
    mov ax, [bp + 4]
    mov [frame_cs], ax
    mov ax, [bp + 6]
    mov [frame_fl], ax
    pushf
    pop word [in_fl]
    pop bp
    iret
    align 2
count: dw 0
frame_ip: dw 0
frame_cs: dw 0xFFFF
frame_fl: dw 0
in_fl: dw 0xFFFF

; INT n / IRETD in 32-bit protected mode.  SDM Vol. 2 INT n, IRET: INT through
; a DPL0 interrupt gate at CPL0 pushes EFLAGS, CS, EIP (no error code), clears
; IF and TF; IRETD pops them and resumes after the INT with the old EFLAGS.
%include "payload.inc"
PAYLOAD iret32, emulator, prot32, "INT n and IRETD in 32-bit protected mode"
payload_main:
    SET_HANDLER 0x30, handler
    mov dword [count], 0
    sti                             ; IF = 1 before, handler must see IF = 0
    mov esi, esp
    TRY
    int 0x30
after_int:
    CATCH_NONE "INT 0x30 and IRETD complete without a fault"
    cli
    CHECK_EQ dword [count], 1, "handler ran once"
    CHECK_EQ dword [frame_eip], after_int, "pushed EIP = instruction after INT"
    CHECK_EQ dword [frame_cs], SEL_CODE32, "pushed CS"
    CHECK_MASK dword [frame_fl], FL_IF, FL_IF, "pushed EFLAGS has IF = 1"
    CHECK_MASK dword [in_fl], FL_IF, 0, "IF = 0 inside the handler (interrupt gate)"
    mov eax, esp                    ; the check macros push before reading their
    CHECK_EQ eax, esi, "ESP restored by IRETD"   ; operands: sample ESP first
    PAYLOAD_DONE
handler:
    inc dword [count]
    mov eax, [esp]
    mov [frame_eip], eax
    mov eax, [esp + 4]
    mov [frame_cs], eax
    mov eax, [esp + 8]
    mov [frame_fl], eax
    pushfd
    pop dword [in_fl]
    iretd
    align 4
count: dd 0
frame_eip: dd 0
frame_cs: dd 0
frame_fl: dd 0
in_fl: dd 0

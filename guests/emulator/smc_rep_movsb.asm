; Code written by REP MOVSB: a function is copied into a buffer and called, then another one
; is copied over it and the buffer is called again.  SDM Vol. 3A 11.6: after a write to code
; followed by a jump (CALL), the new bytes execute.  A decode cache that does not see string
; stores runs the first function twice.
%include "payload.inc"
PAYLOAD smc_rep_movsb, emulator, long64, "code copied by REP MOVSB over code already run executes as copied"
payload_main:
    cld
    mov rdi, code_buffer
    mov rsi, func_a
    mov ecx, func_a_end - func_a
    rep movsb
    mov rbx, code_buffer
    ; Called twice: the second call runs from whatever the first left decoded.
    call rbx
    call rbx
    CHECK_EQ rax, 0xAAAA, "the buffer runs the first copy"
    mov rdi, code_buffer
    mov rsi, func_b
    mov ecx, func_b_end - func_b
    rep movsb
    call rbx
    CHECK_EQ rax, 0xBBBB, "the buffer runs the second copy"
    PAYLOAD_DONE

func_a:
    mov eax, 0xAAAA
    ret
func_a_end:
func_b:
    mov eax, 0xBBBB
    ret
func_b_end:

    [section .bss]
    alignb 4096
code_buffer: resb 64

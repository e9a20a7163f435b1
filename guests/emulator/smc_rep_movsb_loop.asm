; Code written by REP MOVSB inside a loop, over a function the loop has already called
; through the same CALL.  Three turns: the first copies function A into the buffer and calls
; it; the second copies nothing (RCX = 0) and calls it again, so that the CALL is followed
; to the buffer's code with nothing written in between (a decode cache links the two); the
; third copies function B over A and calls the buffer.  SDM Vol. 3A 11.6: after a write to
; code followed by a jump (CALL), the new bytes execute.  A decode cache that runs the REP
; MOVSB itself and then follows the link the second turn made, without looking at the
; bytes the REP MOVSB changed, runs A three times.
%include "payload.inc"
PAYLOAD smc_rep_movsb_loop, emulator, long64, "code copied by REP MOVSB in a loop over code the loop ran executes as copied"
payload_main:
    cld
    xor r13, r13                        ; sum of what the calls return
    xor r12, r12                        ; turn
.turn:
    mov rdi, code_buffer
    mov rsi, [copy_from + 8 * r12]
    mov rcx, [copy_length + 8 * r12]
    rep movsb
    mov rbx, code_buffer
    call rbx
    add r13, rax
    inc r12
    cmp r12, 3
    jne .turn
    CHECK_EQ rax, 0xBBBB, "the third turn runs the copy it made"
    CHECK_EQ r13, 0xAAAA + 0xAAAA + 0xBBBB, "each turn ran the code its REP MOVSB left"
    PAYLOAD_DONE

    align 8
copy_from:   dq func_a, func_a, func_b
copy_length: dq func_a_end - func_a, 0, func_b_end - func_b

func_a:
    mov eax, 0xAAAA
    ret
func_a_end:
func_b:
    mov eax, 0xBBBB
    ret
func_b_end:
%if func_b_end - func_b != func_a_end - func_a
%error "the two functions must have one length"
%endif

    [section .bss]
    alignb 4096
code_buffer: resb 64

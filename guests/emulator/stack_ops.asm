; PUSH/POP/CALL/RET/ENTER/LEAVE in 64-bit mode.  SDM Vol. 2: the default stack
; operand size is 64 bits (PUSH imm8 sign-extends to 64), 16-bit with 66h;
; CALL pushes the next RIP; RET imm16 pops imm16 extra bytes; ENTER size,0
; pushes RBP, RBP = RSP, RSP -= size; LEAVE: RSP = RBP, pop RBP.
; (RSP is copied to R14 before each check: check macros use the stack.)
%include "payload.inc"
PAYLOAD stack_ops, emulator, long64, "PUSH/POP sizes, CALL/RET imm16, ENTER size,0/LEAVE"
payload_main:
    mov r12, rsp
    push byte -2
    mov r14, rsp
    lea rax, [r12 - 8]
    CHECK_EQ r14, rax, "push imm8: RSP -= 8"
    CHECK_EQ qword [r12 - 8], -2, "push imm8 sign-extends to 64 bits"
    pop rbx
    mov r14, rsp
    CHECK_EQ r14, r12, "pop: RSP += 8"
    mov ax, 0x1234
    push ax                         ; 66h: 16-bit push
    mov r14, rsp
    lea rcx, [r12 - 2]
    CHECK_EQ r14, rcx, "push ax: RSP -= 2"
    pop word [mem]
    mov r14, rsp
    CHECK_EQ r14, r12, "pop word [mem]: RSP += 2"
    movzx eax, word [mem]
    CHECK_EQ rax, 0x1234, "16-bit push/pop value"
    push 0x11
    push 0x22
    call sub_ret16                  ; returns with RET 16, dropping the two pushes
after_call:
    mov r14, rsp
    CHECK_EQ r14, r12, "ret 16 popped the return address and 16 bytes"
    CHECK_EQ [saved_ret], after_call, "call pushed the address of the next instruction"
    mov rbp, 0xBBBB
    enter 32, 0
    mov r14, rsp
    lea rax, [r12 - 8]
    CHECK_EQ rbp, rax, "enter 32,0: RBP = RSP after pushing RBP"
    lea rax, [r12 - 40]
    CHECK_EQ r14, rax, "enter 32,0: RSP = RBP - 32"
    CHECK_EQ [r12 - 8], 0xBBBB, "enter pushed the old RBP"
    leave
    mov r14, rsp
    CHECK_EQ r14, r12, "leave restores RSP"
    CHECK_EQ rbp, 0xBBBB, "leave restores RBP"
    PAYLOAD_DONE
sub_ret16:
    mov rax, [rsp]
    mov [saved_ret], rax
    ret 16
    align 8
mem: dq 0
saved_ret: dq 0

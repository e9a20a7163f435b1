; ENTER with a non-zero nesting level.  SDM Vol. 2 ENTER (64-bit, level 1):
; push RBP; FrameTemp = RSP; push FrameTemp; RBP = FrameTemp; RSP -= size.
%include "payload.inc"
PAYLOAD enter_nested, emulator, long64, "ENTER 16,1 (nesting level 1) and LEAVE"
payload_main:
    mov r12, rsp
    mov rbp, 0xBBBB
    enter 16, 1
    mov r14, rsp
    lea rax, [r12 - 8]
    CHECK_EQ rbp, rax, "enter 16,1: RBP = FrameTemp (RSP after pushing RBP)"
    CHECK_EQ [r12 - 8], 0xBBBB, "enter 16,1: old RBP pushed"
    CHECK_EQ [r12 - 16], rax, "enter 16,1: FrameTemp pushed"
    lea rax, [r12 - 32]
    CHECK_EQ r14, rax, "enter 16,1: RSP = FrameTemp - 8 - 16"
    leave
    mov r14, rsp
    CHECK_EQ r14, r12, "leave restores RSP"
    CHECK_EQ rbp, 0xBBBB, "leave restores RBP"
    PAYLOAD_DONE

; SETcc / CMOVcc.  SDM Vol. 2: SETcc writes 1/0 to a byte; CMOVcc moves when the
; condition holds.  In 64-bit mode a 32-bit CMOVcc whose condition is false
; still clears bits 63:32 of the destination (CMOVcc "Operation").
%include "payload.inc"
PAYLOAD setcc_cmov, emulator, long64, "SETcc/CMOVcc conditions; 32-bit CMOV with a false condition zero-extends"
payload_main:
    mov eax, 1
    cmp eax, 2                      ; 1 - 2: CF=1 ZF=0 SF=1 OF=0
    setb bl
    setl cl
    setg dl
    setnz sil
    movzx ebx, bl
    movzx ecx, cl
    movzx edx, dl
    movzx esi, sil
    CHECK_EQ rbx, 1, "setb after cmp 1,2"
    CHECK_EQ rcx, 1, "setl after cmp 1,2"
    CHECK_EQ rdx, 0, "setg after cmp 1,2"
    CHECK_EQ rsi, 1, "setnz after cmp 1,2"
    mov byte [mem], 0xFF
    mov eax, 0x7FFFFFFF
    add eax, 1                      ; OF = 1
    seto byte [mem]
    movzx eax, byte [mem]
    CHECK_EQ rax, 1, "seto to memory"
    mov rbx, 0xFFFFFFFF00000001
    mov rcx, 2
    xor eax, eax                    ; ZF = 1
    cmovz rbx, rcx
    CHECK_EQ rbx, 2, "cmovz rbx taken"
    mov rbx, 0xFFFFFFFF00000001
    cmovnz rbx, rcx                 ; 64-bit, not taken: unchanged
    CHECK_EQ rbx, 0xFFFFFFFF00000001, "64-bit cmov not taken leaves the register"
    cmovnz ebx, ecx                 ; 32-bit, not taken: upper half cleared
    CHECK_EQ rbx, 1, "32-bit cmov not taken clears bits 63:32"
    PAYLOAD_DONE
    align 8
mem: dq 0

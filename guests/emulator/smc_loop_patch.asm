; Self-modifying code: a loop that patches its own ADD immediate on every iteration (a
; store into the page, and the block, that is running).  SDM Vol. 3A 11.6: the modified
; instruction executes as modified.  With the immediate going 1, 2, ... 10, EAX = 55; a
; stale decode of the loop gives 10 (or any other sum).
%include "payload.inc"
PAYLOAD smc_loop_patch, emulator, long64, "a loop patching its own ADD immediate each iteration"
payload_main:
    xor eax, eax
    mov ecx, 10
.loop:
.patch:
    add eax, strict byte 1              ; 83 C0 ib: the immediate is at .patch + 2
    inc byte [.patch + 2]
    dec ecx
    jnz .loop
    CHECK_EQ rax, 55, "sum of the patched immediates 1..10"
    movzx eax, byte [.patch + 2]
    CHECK_EQ rax, 11, "the immediate was incremented ten times"
    PAYLOAD_DONE

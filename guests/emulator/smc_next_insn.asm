; Self-modifying code: a store into the immediate of the very next instruction, run twice
; so that the second pass meets code that was already decoded once.  SDM Vol. 3A 11.6
; (Self-Modifying Code): a write to a code byte that is already prefetched or decoded is
; detected, and the instruction executes as modified.  A decoded-instruction cache that
; misses the store runs the old immediate.
%include "payload.inc"
PAYLOAD smc_next_insn, emulator, long64, "a store into the next instruction's immediate executes as stored"
payload_main:
    xor ebx, ebx
    mov ecx, 2
.again:
    mov [.next + 1], cl                 ; low byte of the imm32 of the MOV below
.next:
    mov eax, 0x11111100
    add ebx, eax
    dec ecx
    jnz .again
    ; pass 1 stores 2 (EAX = 0x11111102), pass 2 stores 1 (EAX = 0x11111101)
    CHECK_EQ rbx, 0x22222203, "both passes ran the immediate just stored"
    PAYLOAD_DONE

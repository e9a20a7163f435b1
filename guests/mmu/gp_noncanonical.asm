; Non-canonical addresses.  SDM Vol. 1 3.3.7.1, Vol. 3 6.15 (#GP): a memory reference (not
; through SS) with a non-canonical linear address raises #GP(0); a near JMP to a
; non-canonical target raises #GP(0) on the JMP itself (saved RIP = the JMP).
%include "payload.inc"
PAYLOAD gp_noncanonical, mmu, long64, "non-canonical data access and jump target: #GP(0)"
payload_main:
    mov rbx, 0x0000800000000000     ; bit 47 set, bits 63:48 clear
    TRY
    mov rax, [rbx]
    CATCH VEC_GP, 0, "load from a non-canonical address"
    mov rbx, 0x8000000000001000
    TRY
jmp_insn:
    jmp rbx
    CATCH VEC_GP, 0, "jump to a non-canonical address"
    CHECK_EQ [__exc_rip], jmp_insn, "saved RIP = the JMP"
    PAYLOAD_DONE

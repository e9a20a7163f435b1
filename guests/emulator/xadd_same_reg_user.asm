; XADD/XCHG/CMPXCHG with the same register as both operands, at CPL3 (native on a host
; that runs user code on the CPU).  Body and reasoning: include/body_same_reg.inc.
%include "payload.inc"
PAYLOAD xadd_same_reg_user, emulator, user64, "XADD/XCHG/CMPXCHG same-register forms (CPL3)"
payload_main:
    call body_same_reg
    call cmpxchg32_fail
    CHECK_EQ rax, 2, "cmpxchg ecx,edx fails: RAX <- DEST, zero-extended"
    CHECK_EQ rcx, 2, "cmpxchg ecx,edx fails: DEST <- TEMP clears RCX 63:32 (SDM; AMD leaves RCX)"
    ret
%include "body_same_reg.inc"

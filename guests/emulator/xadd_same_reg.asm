; XADD/XCHG/CMPXCHG with the same register as both operands, at CPL0 (KVM's instruction
; emulator on a host that emulates CPL0 code).  Body and reasoning: include/body_same_reg.inc.
%include "payload.inc"
PAYLOAD xadd_same_reg, emulator, long64, "XADD/XCHG/CMPXCHG same-register forms (CPL0)"
payload_main:
    call body_same_reg
    call cmpxchg32_fail
    CHECK_EQ rax, 2, "cmpxchg ecx,edx fails: RAX <- DEST, zero-extended"
    CHECK_EQ rcx, 2, "cmpxchg ecx,edx fails: DEST <- TEMP clears RCX 63:32 (SDM; AMD leaves RCX)"
    ret
%include "body_same_reg.inc"

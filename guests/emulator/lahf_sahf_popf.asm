; LAHF/SAHF/PUSHF/POPF.  SDM Vol. 2: LAHF loads AH = SF:ZF:0:AF:0:PF:1:CF;
; SAHF stores SF ZF AF PF CF from AH (OF unchanged); in 64-bit mode both need
; CPUID.80000001H:ECX.LAHF-SAHF[0].  POPF at CPL0 loads the modifiable flags;
; reserved bits 3, 5, 15 read 0 and bit 1 reads 1 (Vol. 1 3.4.3).
%define PL_GPR_UNDEF (GPR_RCX | GPR_RDX | GPR_RBX)
%include "payload.inc"
PAYLOAD lahf_sahf_popf, emulator, long64, "LAHF/SAHF bit layout, POPF/PUSHF and reserved RFLAGS bits"
payload_main:
    push 0xCD7                      ; OF DF SF ZF AF PF bit1 CF
    popfq
    pushfq
    pop rax
    cld
    CHECK_EQ rax, 0xCD7, "popf/pushf round-trip of OF DF SF ZF AF PF CF"
    push 0x802A                     ; reserved bits 1, 3, 5, 15
    popfq
    pushfq
    pop rax
    CHECK_EQ rax, 0x2, "reserved bits 3, 5, 15 read 0, bit 1 reads 1"
    mov eax, 0x80000001
    cpuid
    bt ecx, 0
    jc .lahf
    SKIP "CPUID.80000001H:ECX.LAHF-SAHF = 0"
    PAYLOAD_DONE
.lahf:
    push 0x8D5                      ; OF SF ZF AF PF CF
    popfq
    mov eax, 0                      ; (MOV: flags untouched)
    lahf
    shr eax, 8
    CHECK_EQ rax, 0xD7, "lahf: AH = SF ZF AF PF 1 CF"
    push FL_OF
    popfq
    mov ah, 0x41                    ; ZF | CF
    sahf
    CHECK_FLAGS FL_ARITH, FL_OF | FL_ZF | FL_CF, "sahf sets ZF CF, clears SF AF PF, keeps OF"
    PAYLOAD_DONE

; Triple fault.  With an IDT limit of 0 every vector lies outside the IDT
; (SDM Vol. 3 6.10): UD2 raises #UD, whose delivery raises #GP; a #GP while
; delivering a (benign) #UD is handled serially, its delivery faults again with
; #GP (contributory after contributory) -> #DF (SDM 6.15, table 6-5); the #DF
; delivery faults too -> triple fault, the CPU enters shutdown, which KVM
; reports as KVM_EXIT_SHUTDOWN (expected_exit = 1).
%define PL_EXPECT_EXIT 1
; RFLAGS in the shutdown state is not defined by the SDM (implementations differ in RF).
%define PL_RFLAGS_UNDEF (1 << 16)     ; RF
%include "payload.inc"
PAYLOAD triple_fault, exits, long64, "fault with an empty IDT: triple fault ends in KVM_EXIT_SHUTDOWN"
payload_main:
    PASS "reached payload_main"
    lidt [empty_idt]
    ud2
    FAIL "execution continued after a triple fault"
    PAYLOAD_DONE
    align 8
empty_idt: dw 0
           dq 0

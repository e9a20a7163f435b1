; ENTER whose final stack pointer is on a not-present page, at CPL0: #PF W=1, RSP and
; RBP unchanged.  At CPL0 a host may run this through KVM's instruction emulator.  Body
; and reasoning: include/body_stack_fault.inc.
%define BODY_CPL 0
%define BODY_U 0
%include "payload.inc"
PAYLOAD stack_write_fault, emulator, long64, "ENTER reaching a not-present stack page: #PF W, RSP/RBP kept (CPL0)"
payload_main:
    call stack_fault_setup
    jmp stack_fault_body
%include "body_stack_fault.inc"

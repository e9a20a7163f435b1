; ENTER, PUSH and CALL onto a not-present stack page at CPL3: #PF W|U, RSP and RBP
; unchanged.  A host that runs CPL3 code natively answers with its own CPU.  Body and
; reasoning: include/body_stack_fault.inc.
%define BODY_CPL 3
%define BODY_U PF_U
%define PL_SETUP
%include "payload.inc"
PAYLOAD stack_write_fault_user, emulator, user64, "ENTER/PUSH/CALL onto a not-present stack page: #PF W, RSP kept (CPL3)"
payload_setup:
    jmp stack_fault_setup
payload_main:
    jmp stack_fault_body
%include "body_stack_fault.inc"

; Read-modify-write instructions on a not-present and a read-only user page at CPL3:
; #PF W|U (P|W|U on the read-only page), nothing changed; CMP/TEST/BT read (W=0).  A
; host that runs CPL3 code natively answers with its own CPU.  Body and reasoning:
; include/body_rmw_fault.inc.
%define BODY_U PF_U
%define PL_SETUP
%include "payload.inc"
PAYLOAD rmw_write_fault_user, emulator, user64, "RMW on not-present/read-only pages: #PF W=1, nothing changed (CPL3)"
payload_setup:
    jmp rmw_fault_setup
payload_main:
    jmp rmw_fault_body
%include "body_rmw_fault.inc"

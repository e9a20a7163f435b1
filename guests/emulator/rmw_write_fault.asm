; Read-modify-write instructions on a not-present and a read-only page at CPL0: #PF
; with W=1 (P|W on the read-only page, CR0.WP=1), nothing changed; CMP/TEST/BT read
; (W=0).  At CPL0 a host may run this through KVM's instruction emulator.  Body and
; reasoning: include/body_rmw_fault.inc.
%define BODY_U 0
%include "payload.inc"
PAYLOAD rmw_write_fault, emulator, long64, "RMW on not-present/read-only pages: #PF W=1, nothing changed (CPL0)"
payload_main:
    call rmw_fault_setup
    jmp rmw_fault_body
%include "body_rmw_fault.inc"

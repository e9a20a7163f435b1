; x87 data instructions at CPL0 (a host may run them through KVM's instruction
; emulator).  Body and reasoning: include/body_x87.inc.
%include "payload.inc"
PAYLOAD x87_basic, emulator, long64, "x87 loads/stores, arithmetic, compares, rounding, stack faults (CPL0)"
payload_main:
    jmp x87_body
%include "body_x87.inc"

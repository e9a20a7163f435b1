; x87 data instructions at CPL3 (native on a host that runs user code on the CPU, so
; the host CPU is an oracle).  Body and reasoning: include/body_x87.inc.
%include "payload.inc"
PAYLOAD x87_basic_user, emulator, user64, "x87 loads/stores, arithmetic, compares, rounding, stack faults (CPL3)"
payload_main:
    jmp x87_body
%include "body_x87.inc"

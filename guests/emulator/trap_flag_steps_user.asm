; The guest's own RFLAGS.TF at CPL3 (native on a host that runs user code on the CPU, so the
; host CPU answers), without port I/O.  Body and reasoning: include/body_trap_flag.inc.
%define BODY_IO 0
%define PL_SETUP
%include "payload.inc"
PAYLOAD trap_flag_steps_user, emulator, user64, "RFLAGS.TF single-step #DB: saved RIP, DR6.BS, POPF rules, CPUID (CPL3)"
payload_setup:
    SET_HANDLER VEC_DB, tf_db_handler
    xor eax, eax
    mov dr6, rax
    ret
payload_main:
    jmp trap_flag_body
%include "body_trap_flag.inc"

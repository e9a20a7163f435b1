; The guest's own RFLAGS.TF at CPL0 (KVM's instruction emulator on a host that emulates
; CPL0 code), with the instructions KVM completes itself: CPUID, and an OUT and an IN that
; exit to userspace.  Body and reasoning: include/body_trap_flag.inc.
%define BODY_IO 1
%include "payload.inc"
PAYLOAD trap_flag_steps, emulator, long64, "RFLAGS.TF single-step #DB: saved RIP, DR6.BS, POPF rules, KVM-completed CPUID/OUT/IN (CPL0)"
payload_main:
    SET_HANDLER VEC_DB, tf_db_handler
    xor eax, eax
    mov dr6, rax
    jmp trap_flag_body
%include "body_trap_flag.inc"

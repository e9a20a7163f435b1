; HLT with no in-kernel irqchip: KVM reports KVM_EXIT_HLT to userspace (KVM API,
; struct kvm_run exit reasons) with the HLT already completed, so when the
; harness calls KVM_RUN again the vCPU continues with the next instruction.
; IF = 0, so nothing else can wake it.
%include "payload.inc"
PAYLOAD hlt_resume, exits, long64, "HLT exits to userspace (no irqchip) and resumes after it"
payload_main:
    mov qword [marker], 0
    cli
    hlt
    mov qword [marker], 1           ; runs only if execution resumed after HLT
    hlt
    inc qword [marker]
    CHECK_EQ qword [marker], 2, "execution continues after two HLTs"
    PAYLOAD_DONE
    align 8
marker: dq 0

; KVM_NMI.  KVM API: KVM_NMI queues an NMI.  SDM Vol. 3 6.7: NMIs are not
; masked by RFLAGS.IF; they are delivered through IDT vector 2; further NMIs are
; blocked until the next IRET.
%include "payload.inc"
PAYLOAD nmi_delivery, irq, long64, "KVM_NMI delivered through vector 2 with IF = 0, exactly once"
payload_main:
    SET_HANDLER VEC_NMI, nmi
    cli
    HOST_REQUEST HOST_NMI, 0
    mov ecx, 1000
.wait:
    cmp qword [count], 0
    jne .got
    in al, PORT_LATCH
    dec ecx
    jnz .wait
.got:
    mov ecx, 20
.more:
    in al, PORT_LATCH
    dec ecx
    jnz .more
    CHECK_EQ [count], 1, "NMI handler ran exactly once with IF = 0"
    CHECK_MASK [nmi_flags], FL_IF, 0, "IF = 0 inside the NMI handler"
    PAYLOAD_DONE
nmi:
    inc qword [count]
    pushfq
    pop qword [nmi_flags]
    iretq
    align 8
count: dq 0
nmi_flags: dq -1

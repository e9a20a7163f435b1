; NMI blocking.  SDM Vol. 3 6.7.1: after an NMI is delivered further NMIs are
; blocked until the next IRET; an NMI arriving meanwhile is held pending and
; delivered after the IRET.  The NMI handler requests a second NMI (KVM_NMI)
; and checks that it does not nest.
%include "payload.inc"
PAYLOAD nmi_blocking, irq, long64, "second NMI requested inside the NMI handler is held until IRETQ"
payload_main:
    SET_HANDLER VEC_NMI, nmi
    cli
    HOST_REQUEST HOST_NMI, 0
    mov ecx, 1000
.wait:                              ; exits until both NMIs were handled
    cmp qword [count], 2
    jae .got
    in al, PORT_LATCH
    dec ecx
    jnz .wait
.got:
    CHECK_EQ [count], 2, "two NMIs delivered"
    CHECK_EQ [max_depth], 1, "NMIs did not nest"
    PAYLOAD_DONE
nmi:
    push rax
    push rcx
    inc qword [depth]
    mov rax, [depth]
    cmp rax, [max_depth]
    jbe .nomax
    mov [max_depth], rax
.nomax:
    inc qword [count]
    cmp qword [count], 1
    jne .leave
    HOST_REQUEST HOST_NMI, 0        ; second NMI while the first is in service
    mov ecx, 20
.inside:                            ; exits: a (wrong) nested delivery would happen here
    in al, PORT_LATCH
    dec ecx
    jnz .inside
.leave:
    dec qword [depth]
    pop rcx
    pop rax
    iretq
    align 8
count: dq 0
depth: dq 0
max_depth: dq 0

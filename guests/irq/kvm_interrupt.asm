; KVM_INTERRUPT with a userspace interrupt controller.  KVM API: KVM_INTERRUPT
; queues an external interrupt vector; the harness issues it when
; run->ready_for_interrupt_injection says the vCPU can take it.  SDM Vol. 3
; 6.8.1: a maskable interrupt is not delivered while RFLAGS.IF = 0; once IF = 1
; it is delivered through IDT gate `vector`.
%include "payload.inc"
%define VEC 0x40
PAYLOAD kvm_interrupt, irq, long64, "KVM_INTERRUPT (no irqchip) delivered once to the IDT gate after STI"
payload_main:
    SET_HANDLER VEC, isr
    cli
    HOST_REQUEST HOST_INTERRUPT, VEC
    mov ecx, 20
.masked:                            ; exits with IF = 0: nothing may arrive
    in al, PORT_LATCH
    dec ecx
    jnz .masked
    CHECK_EQ [count], 0, "no delivery while IF = 0"
    sti
    mov ecx, 1000
.wait:                              ; each IN is an exit where the host can inject
    cmp qword [count], 0
    jne .got
    in al, PORT_LATCH
    dec ecx
    jnz .wait
.got:
    mov ecx, 20
.more:                              ; a few more exits: no second delivery
    in al, PORT_LATCH
    dec ecx
    jnz .more
    cli
    CHECK_EQ [count], 1, "vector 0x40 handler ran exactly once"
    PAYLOAD_DONE
isr:
    inc qword [count]
    iretq
    align 8
count: dq 0

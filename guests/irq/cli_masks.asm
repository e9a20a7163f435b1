; CLI masks maskable interrupts.  SDM Vol. 3 6.8.1: with IF = 0 a pending
; fixed interrupt stays in the LAPIC IRR (10.8.4) and is delivered once IF = 1.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF GPR_RAX
%define PL_BUDGET 40000000      ; bounded TSC waits spin up to 2M iterations each
%include "payload.inc"
%define VEC 0x71
PAYLOAD cli_masks, irq, long64, "IF=0 keeps a self-IPI pending in IRR; STI delivers it"
payload_main:
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    cli
    SELF_IPI VEC
    mov ecx, 200
.spin:                              ; time for a (wrong) delivery
    pause
    dec ecx
    jnz .spin
    CHECK_EQ [count], 0, "no delivery while IF = 0"
    LAPIC_RD APIC_IRR + (VEC / 32) * 0x10
    CHECK_MASK eax, 1 << (VEC % 32), 1 << (VEC % 32), "vector pending in IRR"
    sti
    WAIT_COUNT count, 1, 20000000   ; bounded wait for the delivery
    cli
    CHECK_EQ [count], 1, "delivered once after STI"
    PAYLOAD_DONE
isr:
    inc qword [count]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count: dq 0

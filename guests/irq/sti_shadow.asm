; STI interrupt shadow.  SDM Vol. 2 STI / Vol. 3 6.8.1: after STI sets IF,
; maskable interrupts are recognised only after the next instruction; so a
; pending interrupt is taken after exactly one more instruction.  The interrupt
; is a self-IPI left pending in the IRR while IF = 0.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000      ; bounded TSC waits spin up to 2M iterations each
%include "payload.inc"
%define VEC 0x70
PAYLOAD sti_shadow, irq, long64, "pending interrupt taken after the instruction following STI"
payload_main:
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    cli
    SELF_IPI VEC                    ; pending, masked by IF = 0
    mov qword [marker], 0
    sti
    mov qword [marker], 1           ; in the STI shadow: runs before the interrupt
after_shadow:
    mov qword [marker], 2
    mov qword [marker], 3
    WAIT_COUNT count, 1, 20000000   ; bounded, in case delivery is (wrongly) late
    cli
    CHECK_EQ [count], 1, "interrupt delivered once"
    CHECK_EQ [seen], 1, "handler saw the store made in the STI shadow only"
    CHECK_EQ [frame_rip], after_shadow, "interrupted RIP = instruction after the shadowed one"
    PAYLOAD_DONE
RIP_RECORDING_HANDLER isr, count, marker, seen, frame_rip
    align 8
count: dq 0
marker: dq 0
seen: dq -1
frame_rip: dq 0

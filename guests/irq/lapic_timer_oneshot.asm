; LAPIC timer, one-shot mode.  SDM Vol. 3 10.5.4: LVT timer mode 00b; writing
; the initial count starts the count-down; at zero one interrupt is delivered
; and the current count stays 0 (no reload).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF GPR_RAX
%define PL_BUDGET 40000000      ; bounded TSC waits spin up to 2M iterations each
%include "payload.inc"
%define VEC 0x60
PAYLOAD lapic_timer_oneshot, irq, long64, "LAPIC one-shot timer fires exactly once, current count stays 0"
payload_main:
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_TDCR, 0xB         ; divide by 1
    LAPIC_WR APIC_LVTT, VEC         ; one-shot, unmasked
    LAPIC_WR APIC_TMICT, 100000
    sti
    WAIT_COUNT count, 1, 100000000  ; until it fires (bounded)
    WAIT_COUNT count, 2, 20000000   ; then long enough for many more periods
    cli
    CHECK_EQ [count], 1, "one-shot timer fired exactly once"
    LAPIC_RD APIC_TMCCT
    CHECK_EQ eax, 0, "current count stays 0 after expiry"
    PAYLOAD_DONE
isr:
    inc qword [count]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count: dq 0

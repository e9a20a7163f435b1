; Every LAPIC timer divide configuration (TDCR bits 3,1:0 = 000b..111b: divide by 2, 4,
; 8, 16, 32, 64, 128, 1; SDM Vol. 3A 10.5.4, Figure 10-10) runs a one-shot count of 500 to
; one interrupt; TDCR reads back the bits written (KVM lapic.c keeps val & 0xB).  Between
; arming and the interrupt the current count is at most the initial count.  Catches: a
; divide value that stops the timer or never fires (a table off by one), TDCR bit 2
; stored, a current count above the initial count.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 80000000
%include "payload.inc"
PAYLOAD lapic_timer_divide, irq, long64, "LAPIC one-shot timer fires once with each of the 8 divide values; TDCR reads back"
payload_main:
    SET_HANDLER 0x91, on_timer
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVTT, 0x91                ; one-shot, unmasked
%assign d 0
%rep 8
  %assign tdcr ((d & 4) << 1) | (d & 3)
    mov qword [fired], 0
    LAPIC_WR APIC_TDCR, tdcr | 0x4          ; bit 2 is reserved: not kept
    LAPIC_RD APIC_TDCR
    CHECK_EQ eax, tdcr, "TDCR reads back bits 3 and 1:0 only"
    LAPIC_WR APIC_TMICT, 500
    LAPIC_RD APIC_TMCCT
    CHECK_LE rax, 500, "current count at most the initial count"
    sti
    WAIT_COUNT fired, 1, 4000000000
    WAIT_COUNT fired, 2, 2000000            ; one-shot: no second
    cli
    CHECK_EQ [fired], 1, "the one-shot fired once with this divide value"
%assign d d + 1
%endrep
    PAYLOAD_DONE
on_timer:
    inc qword [fired]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
fired: dq 0

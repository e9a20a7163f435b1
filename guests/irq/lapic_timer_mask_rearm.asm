; A masked LVT timer entry stops the interrupts, not the timer (SDM Vol. 3A 10.5.1, 10.5.4):
; a periodic timer with the mask set delivers nothing while its current count keeps
; moving, and unmasking it brings the interrupts back; writing TMICT = 0 stops it (current
; count 0, no more interrupts).  Catches: masking that freezes or resets the count,
; unmasking that does not resume a periodic timer, TMICT = 0 that leaves it running.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 80000000
%include "payload.inc"
PAYLOAD lapic_timer_mask_rearm, irq, long64, "a masked periodic LAPIC timer counts without interrupts; unmask resumes; TMICT 0 stops"
payload_main:
    SET_HANDLER 0x92, on_timer
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_TDCR, 0xB                 ; divide by 1
    LAPIC_WR APIC_LVTT, 0x92 | APIC_TIMER_PERIODIC | APIC_LVT_MASKED
    LAPIC_WR APIC_TMICT, 100000
    sti
    LAPIC_RD APIC_TMCCT
    mov ebx, eax
    WAIT_COUNT ticks, 1, 20000000           ; must not come: masked
    CHECK_EQ [ticks], 0, "masked: no interrupt"
    LAPIC_RD APIC_TMCCT
    CHECK_NE eax, ebx, "masked: the current count still moves"
    LAPIC_WR APIC_LVTT, 0x92 | APIC_TIMER_PERIODIC
    WAIT_COUNT ticks, 2, 4000000000
    CHECK_GE rax, 2, "unmasked: the periodic interrupts come"
    LAPIC_WR APIC_TMICT, 0
    cli
    mov rbx, [ticks]
    sti
    lea rcx, [rbx + 2]
    WAIT_COUNT ticks, rcx, 20000000         ; at most one in flight may still land
    cli
    mov rax, [ticks]
    sub rax, rbx
    CHECK_LE rax, 1, "TMICT = 0 stopped the timer"
    LAPIC_RD APIC_TMCCT
    CHECK_EQ eax, 0, "current count 0 once stopped"
    PAYLOAD_DONE
on_timer:
    inc qword [ticks]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
ticks: dq 0

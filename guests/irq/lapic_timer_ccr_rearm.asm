; The LAPIC timer's current count counts down from the initial count, and a new write of
; the initial count restarts it (SDM Vol. 3A 10.5.4: "writing to the initial-count register
; starts the timer ... copied into the current-count register"; Linux 6.1 lapic.c
; APIC_TMICT -> start_apic_timer, apic_get_tmcct).  With divide 1 and 200000000: two reads
; decrease and stay below the initial count; a rewrite of the same value brings the count
; back above the last read; TMICT reads what was written.  Masked: no interrupt needed.
; Catches: a current count that does not move, counts up, or is not restarted by a TMICT
; write (a port that only arms when the timer is idle).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD lapic_timer_ccr_rearm, irq, long64, "LAPIC current count counts down from TMICT; a TMICT rewrite restarts it"
payload_main:
    LAPIC_WR APIC_TDCR, 0xB         ; divide by 1
    LAPIC_WR APIC_LVTT, APIC_LVT_MASKED | 0x60
    LAPIC_WR APIC_TMICT, 200000000  ; 200 ms
    LAPIC_RD APIC_TMCCT
    mov ebx, eax
    mov ecx, 20000
.spin:
    pause
    dec ecx
    jnz .spin
    LAPIC_RD APIC_TMCCT
    mov esi, eax
    CHECK_LE rbx, 200000000, "first read at or below the initial count"
    cmp esi, ebx
    setb al
    movzx eax, al
    CHECK_EQ eax, 1, "the second read is lower (it counts down)"
    LAPIC_WR APIC_TMICT, 200000000  ; restart
    LAPIC_RD APIC_TMCCT
    cmp eax, esi
    seta al
    movzx eax, al
    CHECK_EQ eax, 1, "after the rewrite the count is back above the last read"
    LAPIC_RD APIC_TMICT
    CHECK_EQ eax, 200000000, "TMICT reads what was written"
    LAPIC_WR APIC_TMICT, 0
    PAYLOAD_DONE

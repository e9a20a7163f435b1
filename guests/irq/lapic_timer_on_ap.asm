; Each LAPIC has its own timer, which interrupts its own vCPU (SDM Vol. 3A 10.5.4): an AP
; arms a one-shot timer (divide by 1, initial count 10000, vector 90H) and halts; the
; timer interrupt wakes that AP, never the BSP, and fires once; the AP's current count
; reads 0 afterwards.  Catches: every LAPIC timer delivered to vCPU 0, a timer that does
; not wake a halted AP, one-shot timers re-armed.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD lapic_timer_on_ap, irq, long64, "an AP's one-shot LAPIC timer wakes that AP once, never the BSP"
payload_main:
    SET_HANDLER 0x90, on_90
    sti
    mov qword [go], 1
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "the AP's timer interrupted the AP"
    WAIT_COUNT got + 8, 2, 20000000         ; one-shot: no second
    cli
    CHECK_EQ [got + 8], 1, "once"
    CHECK_EQ [got], 0, "the BSP took no timer interrupt"
    WAIT_COUNT count_read, 1, 4000000000
    CHECK_EQ [ap_count], 0, "the AP's current count reads 0 after it fired"
    PAYLOAD_DONE

payload_ap_main:
    WAIT_FLAG go
    LAPIC_WR APIC_TDCR, 0xB                 ; divide by 1
    LAPIC_WR APIC_LVTT, 0x90                ; one-shot, unmasked
    LAPIC_WR APIC_TMICT, 10000
.sleep:
    cli
    cmp qword [got + 8], 0
    jne .fired
    sti
    hlt
    jmp .sleep
.fired:
    LAPIC_RD APIC_TMCCT
    mov [ap_count], rax
    lock inc qword [count_read]
    sti
.idle:
    hlt
    jmp .idle

COUNTING_HANDLER on_90, got
    align 8
got:        dq 0, 0
go:         dq 0
ap_count:   dq -1
count_read: dq 0

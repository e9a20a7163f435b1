; Each LAPIC has its own timer (SDM Vol. 3A 10.5.4; Linux 6.1: one kvm_timer per vCPU's
; kvm_lapic): two APs arm one-shot timers with different vectors and counts at the same
; time; each takes its own vector exactly once and never the other's, and the BSP takes
; neither.  Catches: a timer shared between LAPICs (one of the two lost or fired twice),
; the vector of one LAPIC used for another, expiries delivered to the BSP.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD lapic_timer_per_vcpu, irq, long64, "two APs' one-shot LAPIC timers run at once: each AP takes its own vector once"
payload_main:
    SET_HANDLER 0x51, on_51
    SET_HANDLER 0x52, on_52
    mov qword [go], 1
    WAIT_COUNT done, 2, 4000000000
    CHECK_EQ rax, 2, "both APs saw their timer fire"
    WAIT_COUNT total, 3, 20000000      ; must not come: one-shots
    CHECK_EQ [got51 + 8], 1, "AP 1 took its vector 51H once"
    CHECK_EQ [got52 + 16], 1, "AP 2 took its vector 52H once"
    CHECK_EQ [got52 + 8], 0, "AP 1 never took 52H"
    CHECK_EQ [got51 + 16], 0, "AP 2 never took 51H"
    CHECK_EQ [got51], 0, "the BSP took no 51H"
    CHECK_EQ [got52], 0, "the BSP took no 52H"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID (1 or 2)
    WAIT_FLAG go
    LAPIC_WR APIC_TDCR, 0xB
    lea eax, [rdi + 0x50]       ; vector 50H + ID
    push rbx
    mov ebx, LAPIC_BASE
    mov [rbx + APIC_LVTT], eax
    imul eax, edi, 700000       ; 0.7 ms for AP 1, 1.4 ms for AP 2
    mov [rbx + APIC_TMICT], eax
    pop rbx
    mov esi, edi
    sti
.wait:
    hlt
    mov rax, [got51 + rsi * 8]
    or rax, [got52 + rsi * 8]
    jz .wait
    AP_IDLE_READY done

COUNTING_HANDLER on_51, got51, total
COUNTING_HANDLER on_52, got52, total
    align 8
go:     dq 0
done:   dq 0
total:  dq 0
got51:  dq 0, 0, 0
got52:  dq 0, 0, 0

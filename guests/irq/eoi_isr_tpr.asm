; LAPIC ISR, EOI and TPR.  SDM Vol. 3 10.8.4: on acceptance the vector's ISR bit
; is set and cleared by a write to EOI.  10.8.3.1: a fixed interrupt is
; delivered only if its priority class (vector[7:4]) is above PPR[7:4]; with
; ISR empty PPR = TPR.  Vector 0x55 (class 5) is held by TPR = 0x50.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF GPR_RAX
%define PL_BUDGET 40000000      ; bounded TSC waits spin up to 2M iterations each
%include "payload.inc"
PAYLOAD eoi_isr_tpr, irq, long64, "ISR set until EOI; TPR class >= vector class holds the interrupt"
payload_main:
    SET_HANDLER 0x50, isr50
    SET_HANDLER 0x55, isr55
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    sti
    SELF_IPI 0x50
    WAIT_COUNT count50, 1, 20000000
    cli
    CHECK_EQ [count50], 1, "vector 0x50 delivered"
    CHECK_EQ [isr_in], 1, "ISR bit 0x50 set in the handler"
    CHECK_EQ [isr_after], 0, "ISR bit 0x50 clear after EOI"
    LAPIC_WR APIC_TPR, 0x50         ; class 5 blocks class 5 and below
    sti
    SELF_IPI 0x55
    WAIT_COUNT count55, 1, 5000000  ; must time out: the vector is held
    cli
    CHECK_EQ [count55], 0, "vector 0x55 held while TPR = 0x50"
    LAPIC_RD APIC_PPR
    CHECK_MASK eax, 0xF0, 0x50, "PPR class = TPR class 5"
    LAPIC_RD APIC_IRR + (0x55 / 32) * 0x10
    CHECK_MASK eax, 1 << (0x55 % 32), 1 << (0x55 % 32), "vector 0x55 pending in IRR"
    sti
    LAPIC_WR APIC_TPR, 0            ; lowering TPR releases it
    WAIT_COUNT count55, 1, 20000000
    cli
    CHECK_EQ [count55], 1, "vector 0x55 delivered after TPR = 0"
    PAYLOAD_DONE
isr50:
    push rax
    inc qword [count50]
    LAPIC_RD APIC_ISR + (0x50 / 32) * 0x10
    shr eax, 0x50 % 32
    and eax, 1
    mov [isr_in], rax
    LAPIC_WR APIC_EOI, 0
    LAPIC_RD APIC_ISR + (0x50 / 32) * 0x10
    shr eax, 0x50 % 32
    and eax, 1
    mov [isr_after], rax
    pop rax
    iretq
isr55:
    inc qword [count55]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count50: dq 0
count55: dq 0
isr_in: dq -1
isr_after: dq -1

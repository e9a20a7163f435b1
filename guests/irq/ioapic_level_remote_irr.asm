; Level-triggered IOAPIC entry.  82093AA datasheet: for a level-triggered
; redirection entry (bit 15 = 1) Remote IRR (bit 14, read-only) is set when the
; LAPIC accepts the interrupt and cleared by the EOI for its vector (the LAPIC
; broadcasts EOI for level-triggered vectors, SDM Vol. 3 10.8.5).  The line is
; lowered before the EOI, so the interrupt is delivered once.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000      ; bounded TSC waits
%define PL_GPR_UNDEF GPR_RAX
%include "payload.inc"
%define IRQ 10
%define VEC 0x5A
PAYLOAD ioapic_level_remote_irr, irq, long64, "level-triggered IOAPIC pin: Remote IRR set until EOI, one delivery"
payload_main:
    SET_HANDLER VEC, isr
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_LVT_MASKED
    IOAPIC_WR 0x11 + 2 * IRQ, 0
    IOAPIC_WR 0x10 + 2 * IRQ, VEC | (1 << 15)     ; fixed, level, active high
    sti
    HOST_REQUEST HOST_IRQ_HIGH, IRQ
    WAIT_COUNT count, 1, 20000000
    WAIT_COUNT count, 2, 5000000
    cli
    CHECK_EQ [count], 1, "level interrupt delivered once (line lowered before EOI)"
    CHECK_EQ [rirr_in], 1, "Remote IRR = 1 in the handler"
    CHECK_EQ [tmr_in], 1, "LAPIC TMR bit set for a level-triggered vector"
    mov eax, IOAPIC_BASE
    mov dword [rax], 0x10 + 2 * IRQ
    mov eax, [rax + 0x10]
    shr eax, 14
    and eax, 1
    CHECK_EQ eax, 0, "Remote IRR = 0 after the EOI"
    PAYLOAD_DONE
isr:
    push rax
    inc qword [count]
    mov eax, IOAPIC_BASE
    mov dword [rax], 0x10 + 2 * IRQ
    mov eax, [rax + 0x10]
    shr eax, 14
    and eax, 1
    mov [rirr_in], rax
    LAPIC_RD APIC_TMR + (VEC / 32) * 0x10
    shr eax, VEC % 32
    and eax, 1
    mov [tmr_in], rax
    HOST_REQUEST HOST_IRQ_LOW, IRQ
    LAPIC_WR APIC_EOI, 0
    pop rax
    iretq
    align 8
count: dq 0
rirr_in: dq -1
tmr_in: dq -1

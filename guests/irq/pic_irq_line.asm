; KVM_IRQ_LINE through the in-kernel 8259 PIC.  8259A datasheet / SDM Vol. 3
; 10.5.1: after ICW1-ICW4 with vector base 0x20 an edge on IR3 is delivered as
; vector 0x20 + 3 through the LAPIC's LINT0 in ExtINT mode (virtual wire); the
; PIC's ISR bit 3 stays set until a non-specific EOI (OCW2 0x20).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000      ; bounded TSC waits spin up to 2M iterations each
%include "payload.inc"
%define IRQ 3
PAYLOAD pic_irq_line, irq, long64, "KVM_IRQ_LINE on IRQ3 via the 8259 PIC: vector base+3, ISR, EOI"
payload_main:
    SET_HANDLER 0x20 + IRQ, isr
    PIC_INIT 0x20, 0x28, ~(1 << IRQ) & 0xFF, 0xFF
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_DM_EXTINT      ; virtual wire: PIC -> LINT0
    sti
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT count, 1, 20000000
    cli
    CHECK_EQ [count], 1, "vector 0x23 handler ran once"
    CHECK_EQ [isr_before], 1 << IRQ, "PIC ISR = bit 3 in the handler"
    CHECK_EQ [isr_after], 0, "PIC ISR clear after EOI"
    PAYLOAD_DONE
isr:
    push rax
    inc qword [count]
    mov al, 0x0B                    ; OCW3: read ISR
    out 0x20, al
    in al, 0x20
    movzx eax, al
    mov [isr_before], rax
    PIC_EOI
    in al, 0x20
    movzx eax, al
    mov [isr_after], rax
    pop rax
    iretq
    align 8
count: dq 0
isr_before: dq -1
isr_after: dq -1

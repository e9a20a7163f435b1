; Specific EOI (OCW2 = 60H | n) clears exactly ISR bit n, whatever else is in service,
; while a non-specific EOI (20H) clears the highest-priority one (8259A datasheet, OCW2).
; IRQ4's handler enables interrupts without EOI; IRQ3 (higher priority) then nests and its
; handler returns without EOI too, leaving ISR = bits 3 and 4.  A specific EOI for 4 leaves
; bit 3; a non-specific EOI then clears 3.  Catches: a specific EOI treated as non-specific
; (it would clear 3 first), ISR bits of nested IRQs lost, nesting refused.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pic_specific_eoi, irq, long64, "nested IRQ4 then IRQ3: specific EOI 4 leaves ISR bit 3, non-specific clears it"
payload_main:
    SET_HANDLER 0x24, isr4
    SET_HANDLER 0x23, isr3
    PIC_INIT 0x20, 0x28, ~((1 << 3) | (1 << 4)) & 0xFF, 0xFF
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_DM_EXTINT
    mov al, 0x0B                            ; OCW3: reads of port 20H return ISR
    out 0x20, al
    sti
    HOST_REQUEST HOST_IRQ_PULSE, 4
    WAIT_COUNT done, 2, 20000000
    cli
    CHECK_EQ rax, 2, "IRQ4 taken, and IRQ3 nested inside it"
    CHECK_EQ [isr_nested], (1 << 3) | (1 << 4), "ISR = bits 3 and 4 while both are in service"
    in al, 0x20
    movzx eax, al
    CHECK_EQ eax, (1 << 3) | (1 << 4), "both still in service after the handlers returned without EOI"
    mov al, 0x60 | 4                        ; specific EOI for IR4
    out 0x20, al
    in al, 0x20
    movzx eax, al
    CHECK_EQ eax, 1 << 3, "specific EOI 4 cleared bit 4 only"
    mov al, 0x20                            ; non-specific EOI: highest priority in service
    out 0x20, al
    in al, 0x20
    movzx eax, al
    CHECK_EQ eax, 0, "non-specific EOI cleared bit 3"
    PAYLOAD_DONE
isr4:
    lock inc qword [done]
    sti                                     ; let IRQ3 nest
    HOST_REQUEST HOST_IRQ_PULSE, 3
    WAIT_COUNT done, 2, 20000000
    iretq
isr3:
    push rax
    in al, 0x20
    movzx eax, al
    mov [isr_nested], rax
    lock inc qword [done]
    pop rax
    iretq
    align 8
done:       dq 0
isr_nested: dq -1

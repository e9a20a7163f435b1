; An edge on a masked 8259 line is latched in IRR (readable with OCW3 0AH) and delivered
; when the line is unmasked (8259A datasheet: IMR masks the request after IRR); it is
; delivered once.  Catches: masked edges dropped (never delivered), IRR not readable,
; delivery of a masked request, an unmask delivering twice.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
%define IRQ 5
PAYLOAD pic_mask_holds_irr, irq, long64, "an edge on masked IRQ5 waits in IRR and is delivered once on unmask"
payload_main:
    SET_HANDLER 0x20 + IRQ, isr
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF                 ; everything masked
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_DM_EXTINT
    sti
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT count, 1, 20000000                   ; must not come
    CHECK_EQ [count], 0, "no delivery while IRQ5 is masked"
    mov al, 0x0A                                    ; OCW3: read IRR
    out 0x20, al
    in al, 0x20
    movzx eax, al
    CHECK_MASK eax, 1 << IRQ, 1 << IRQ, "the edge is latched in IRR bit 5"
    mov al, ~(1 << IRQ) & 0xFF
    out 0x21, al                                    ; unmask
    WAIT_COUNT count, 1, 20000000
    WAIT_COUNT count, 2, 5000000                    ; a second must not come
    cli
    CHECK_EQ [count], 1, "delivered once after unmasking"
    in al, 0x20                                     ; still reading IRR
    movzx eax, al
    CHECK_MASK eax, 1 << IRQ, 0, "IRR bit 5 clear once acknowledged"
    PAYLOAD_DONE
isr:
    inc qword [count]
    PIC_EOI
    iretq
    align 8
count: dq 0

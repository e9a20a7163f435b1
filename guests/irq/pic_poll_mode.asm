; 8259 poll mode (OCW3 with P set: the next read of the command port is the poll).  KVM's
; answer, Linux 6.1 i8259.c pic_poll_read, is not the 8259A datasheet's: the read gives
; the highest unmasked request's level with bit 7 clear (the chip sets bit 7, "I"), and
; the request leaves both IRR and ISR (the chip sets its ISR bit: the read is the INTA),
; so no EOI is due and no interrupt follows; with no request, or only a masked one, the
; read gives 07H.  IF stays 0 throughout, as a polling driver runs.  Catches: a poll that
; is not consumed by one read, a masked line reported, the request left pending.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pic_poll_mode, irq, long64, "8259 poll as KVM's pic_poll_read does it: level without bit 7, IRR and ISR cleared; 07H"
payload_main:
    SET_HANDLER 0x23, on_irq
    SET_HANDLER 0x24, on_irq
    cli
    PIC_INIT 0x20, 0x28, 0xFF & ~(1 << 3), 0xFF     ; IRQ3 unmasked, IRQ4 masked
    HOST_REQUEST HOST_IRQ_PULSE, 4
    HOST_REQUEST HOST_IRQ_PULSE, 3
    mov al, 0x0A                ; OCW3: read IRR
    out 0x20, al
    in al, 0x20
    movzx eax, al
    CHECK_EQ eax, 0x18, "IRR holds IRQ3 and the masked IRQ4"
    mov al, 0x0C                ; OCW3: poll
    out 0x20, al
    in al, 0x20
    movzx eax, al
    CHECK_EQ eax, 0x03, "poll read: level 3, bit 7 clear (KVM)"
    mov al, 0x0B                ; OCW3: read ISR
    out 0x20, al
    in al, 0x20
    movzx eax, al
    CHECK_EQ eax, 0, "nothing in service after the poll (KVM clears the ISR bit)"
    mov al, 0x0A
    out 0x20, al
    in al, 0x20
    movzx eax, al
    CHECK_EQ eax, 0x10, "IRQ3 left IRR; the masked IRQ4 stays"
    mov al, 0x0C
    out 0x20, al
    in al, 0x20
    movzx eax, al
    CHECK_EQ eax, 0x07, "a poll with only a masked request reads 07H"
    in al, 0x20                 ; the poll was consumed: this reads IRR again
    movzx eax, al
    CHECK_EQ eax, 0x10, "the read after it is a plain register read (IRR)"
    sti
    WAIT_COUNT count, 1, 20000000      ; must not come: the poll consumed the request
    cli
    CHECK_EQ [count], 0, "no interrupt follows a polled request"
    PAYLOAD_DONE

on_irq:
    lock inc qword [count]
    PIC_EOI
    iretq
    align 8
count:  dq 0

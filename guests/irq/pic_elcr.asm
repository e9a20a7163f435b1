; The 8259 edge/level control registers (ELCR, ports 0x4D0 master / 0x4D1 slave).  Linux 6.1
; i8259.c elcr_ioport_write keeps val & elcr_mask, with elcr_mask 0xF8 for the master (IRQ
; 0-2 are always edge: timer, keyboard, cascade) and 0xDE for the slave (IRQ 8 and 13 are
; always edge); elcr_ioport_read returns it.  A port that stores every bit makes the timer
; level-triggered.
%define PL_FLAGS PL_F_IRQCHIP
%include "payload.inc"
PAYLOAD pic_elcr, irq, long64, "ELCR: writes keep only the maskable bits (master 0xF8, slave 0xDE)"
payload_main:
    mov dx, 0x4D0
    mov al, 0xFF
    out dx, al
    in al, dx
    movzx eax, al
    CHECK_EQ eax, 0xF8, "master ELCR after writing 0xFF: IRQ 0-2 stay edge"
    mov dx, 0x4D1
    mov al, 0xFF
    out dx, al
    in al, dx
    movzx eax, al
    CHECK_EQ eax, 0xDE, "slave ELCR after writing 0xFF: IRQ 8 and 13 stay edge"
    mov dx, 0x4D0
    mov al, 0x20                        ; IRQ 5 level
    out dx, al
    in al, dx
    movzx eax, al
    CHECK_EQ eax, 0x20, "master ELCR: IRQ 5 level-triggered"
    xor eax, eax
    out dx, al
    mov dx, 0x4D1
    out dx, al
    in al, dx
    movzx eax, al
    CHECK_EQ eax, 0, "slave ELCR cleared"
    PAYLOAD_DONE

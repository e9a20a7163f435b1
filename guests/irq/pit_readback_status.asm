; 8254 read-back (control word 11xxxxx0b, datasheet "Read-Back Command"): the status byte
; of a counter reports the programmed access mode (bits 5:4), mode (3:1) and BCD (0) as the
; last control word set them, and a latch of count and status returns the status first,
; then the count.  Every mode 0-5 is programmed on counter 2 with its gate low, and modes 6
; and 7 read back as 2 and 3 (the X1x encodings; KVM i8254.c pit_ioport_write: mode > 5 ->
; mode - 4).  OUT and null count (bits 7:6) depend on time and are masked.  Catches: the
; status byte built from the wrong bits, modes 6/7 kept as written, status and count
; latched in the wrong order, the count latched above the programmed value.
%define PL_FLAGS PL_F_IRQCHIP | PL_F_PIT
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pit_readback_status, irq, long64, "8254 read-back: status holds access, mode 0-5 (6, 7 alias 2, 3), BCD; status before count"
payload_main:
    in al, 0x61
    and al, 0xFC                    ; counter 2 gate low, speaker off
    out 0x61, al
%assign m 0
%rep 8
    mov al, 0x80 | 0x30 | (m << 1)  ; counter 2, lobyte/hibyte, mode m, binary
    out 0x43, al
    mov al, 0x34
    out 0x42, al
    mov al, 0x12
    out 0x42, al                    ; count 1234H
    mov al, 0xE8                    ; read-back: status only, counter 2
    out 0x43, al
    in al, 0x42
    movzx eax, al
  %if m < 6
    CHECK_MASK eax, 0x3F, 0x30 | (m << 1), "status: lobyte/hibyte, binary, the mode programmed"
  %else
    CHECK_MASK eax, 0x3F, 0x30 | ((m - 4) << 1), "status: mode 6 and 7 read back as 2 and 3"
  %endif
%assign m m + 1
%endrep
    mov al, 0x80 | 0x30 | (2 << 1) | 1  ; mode 2, BCD
    out 0x43, al
    mov al, 0x99
    out 0x42, al
    out 0x42, al                    ; count 9999 (BCD)
    mov al, 0xC8                    ; read-back: count and status, counter 2
    out 0x43, al
    in al, 0x42
    movzx ebx, al
    CHECK_MASK ebx, 0x3F, 0x30 | (2 << 1) | 1, "status first: mode 2, BCD"
    in al, 0x42
    mov bl, al
    in al, 0x42
    mov bh, al
    movzx ebx, bx
    CHECK_LE rbx, 0x9999, "then the latched count, at most the BCD count 9999"
    CHECK_NE rbx, 0, "and not 0 (the gate is low: counter 2 does not count in mode 2)"
    PAYLOAD_DONE

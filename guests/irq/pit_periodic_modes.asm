; 8254 counter 0 in the periodic modes through the 8259: mode 2 (rate generator), mode 3
; (square wave), and 6 and 7, which the chip reads as 2 and 3 (Linux 6.1 i8254.c
; pit_ioport_write: mode > 5 becomes mode - 4; pit_load_count arms a periodic timer for
; 2 and 3).  In each IRQ0 comes again and again (four times counted); masking IRQ0 in
; the master's IMR then stops it.  Catches: a periodic mode armed one-shot (one IRQ
; only), 6 or 7 left unarmed (KVM arms nothing for modes above 5), the IMR ignored for a
; PIT interrupt.
%define PL_FLAGS PL_F_IRQCHIP | PL_F_PIT
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pit_periodic_modes, irq, long64, "PIT modes 2, 3, 6, 7 via the 8259: IRQ0 comes periodically; masking it in the IMR stops it"
payload_main:
    SET_HANDLER 0x20, on_irq0
    PIC_INIT 0x20, 0x28, 0xFE, 0xFF
%assign m 2
%rep 4
    mov qword [count], 0
    PIT_COUNTER0 m, 0x800       ; a 1.7 ms period
    PIT_STATUS0
    CHECK_MASK eax, 0x3F, 0x30 | ((m & 3) << 1), "status: lobyte/hibyte, binary, mode m (6, 7 read as 2, 3)"
    sti
    WAIT_COUNT count, 4, 4000000000
    cli
    CHECK_GE rax, 4, "IRQ0 came at least four times in mode m"
  %if m == 2
    %assign m 3
  %elif m == 3
    %assign m 6
  %else
    %assign m 7
  %endif
%endrep
    mov al, 0xFF
    out 0x21, al                ; OCW1: mask IRQ0 (counter 0 still runs in mode 3)
    sti
    mov rbx, [count]
    inc rbx
    WAIT_COUNT count, rbx, 60000000    ; must not come: several periods
    cli
    mov rax, [count]
    dec rbx
    sub rax, rbx
    CHECK_EQ rax, 0, "no IRQ0 while it is masked in the IMR"
    PAYLOAD_DONE

PIC_COUNTING_IRQ on_irq0, count
    align 8
count:  dq 0

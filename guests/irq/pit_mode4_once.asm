; 8254 counter 0 in mode 4 (software-triggered strobe): OUT drops for one clock at terminal
; count, one rising edge, so IRQ0 comes once (datasheet, mode 4; Linux 6.1 i8254.c
; pit_load_count arms a one-shot timer for mode 4 as for mode 0).  The read-back OUT bit
; is KVM's, not the pin's: pit_get_out gives OUT = (elapsed == count) for mode 4, so it
; reads 0 before terminal count where the chip's pin is high.  Catches: mode 4 left
; unarmed (no interrupt) or armed periodic, OUT computed as in mode 0 or 3.
%define PL_FLAGS PL_F_IRQCHIP | PL_F_PIT
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pit_mode4_once, irq, long64, "PIT mode 4 via the 8259: IRQ0 once at the strobe; KVM reads OUT 0 before it"
payload_main:
    SET_HANDLER 0x20, on_irq0
    PIC_INIT 0x20, 0x28, 0xFE, 0xFF
    PIT_COUNTER0 4, 0x2000
    PIT_STATUS0
    CHECK_MASK eax, 0xBF, 0x30 | (4 << 1), "status before the strobe: OUT 0 (KVM pit_get_out), mode 4"
    sti
    WAIT_COUNT count, 1, 4000000000
    CHECK_EQ rax, 1, "IRQ0 came at the strobe"
    WAIT_COUNT count, 2, 60000000      ; must not come
    cli
    CHECK_EQ [count], 1, "no second IRQ0 in mode 4"
    PAYLOAD_DONE

PIC_COUNTING_IRQ on_irq0, count
    align 8
count:  dq 0

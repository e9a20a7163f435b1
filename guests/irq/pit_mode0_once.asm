; 8254 counter 0 in mode 0 (interrupt on terminal count) through the 8259 (IRQ0, KVM's
; default routing of GSI 0; Linux 6.1 i8254.c pit_load_count: modes 0, 1 and 4 arm a
; one-shot timer).  OUT is low from the count write until terminal count, then high
; (8254 datasheet, mode 0; pit_get_out: OUT = elapsed >= count), read as status bit 7
; with the read-back command.  IRQ0 comes once and never again.  Catches: a one-shot
; mode treated as periodic, an OUT bit stuck or inverted, an interrupt lost on the way
; through the PIC.
%define PL_FLAGS PL_F_IRQCHIP | PL_F_PIT
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pit_mode0_once, irq, long64, "PIT mode 0 via the 8259: IRQ0 once at terminal count; OUT low before it, high after"
payload_main:
    SET_HANDLER 0x20, on_irq0
    PIC_INIT 0x20, 0x28, 0xFE, 0xFF
    PIT_COUNTER0 0, 0x2000      ; 6.9 ms
    PIT_STATUS0
    CHECK_MASK eax, 0xBF, 0x30, "status before terminal count: OUT 0, lobyte/hibyte, mode 0, binary"
    sti
    WAIT_COUNT count, 1, 4000000000
    CHECK_EQ rax, 1, "IRQ0 came at terminal count"
    PIT_STATUS0
    CHECK_MASK eax, 0x80, 0x80, "status after terminal count: OUT 1"
    WAIT_COUNT count, 2, 60000000      ; must not come: several counts' time
    cli
    CHECK_EQ [count], 1, "no second IRQ0 in mode 0"
    PAYLOAD_DONE

PIC_COUNTING_IRQ on_irq0, count
    align 8
count:  dq 0

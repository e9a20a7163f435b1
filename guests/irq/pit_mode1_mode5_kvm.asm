; The gate-triggered modes on counter 0, whose gate is tied high (KVM: pit_get_gate of
; counter 0 is always 1).  On an 8254, modes 1 and 5 start counting only on a rising gate
; edge, which counter 0 never sees.  KVM (Linux 6.1 i8254.c pit_load_count) arms a
; one-shot timer for mode 1 as for mode 0, so IRQ0 comes once, and arms nothing for mode 5,
; so IRQ0 never comes.  This pins down KVM's behaviour, which differs from the chip's for
; mode 1.  Catches: mode 5 armed (a spurious IRQ0), mode 1 periodic or never armed.
%define PL_FLAGS PL_F_IRQCHIP | PL_F_PIT
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pit_mode1_mode5_kvm, irq, long64, "PIT counter 0: mode 5 never raises IRQ0; mode 1 raises it once (KVM's pit_load_count)"
payload_main:
    SET_HANDLER 0x20, on_irq0
    PIC_INIT 0x20, 0x28, 0xFE, 0xFF
    PIT_COUNTER0 5, 0x800       ; mode 5 first; 1.7 ms
    sti
    WAIT_COUNT count, 1, 60000000      ; must not come
    cli
    CHECK_EQ [count], 0, "mode 5: no IRQ0 (no gate trigger on counter 0)"
    PIT_COUNTER0 1, 0x800
    sti
    WAIT_COUNT count, 1, 4000000000
    CHECK_EQ rax, 1, "mode 1: IRQ0 came (KVM arms a one-shot timer)"
    WAIT_COUNT count, 2, 60000000      ; must not come
    cli
    CHECK_EQ [count], 1, "mode 1: only once"
    PAYLOAD_DONE

PIC_COUNTING_IRQ on_irq0, count
    align 8
count:  dq 0

; The 8254 counts down: two counter-latch reads of counter 0 in mode 2, some time apart,
; give a smaller second count, both below the initial count 0xFFFF (datasheet, "Counter
; Latch Command"; Linux 6.1 i8254.c pit_get_count: count - elapsed ticks, modulo the
; count).  Both bytes of a latched value come from one instant.  Catches: a count that
; does not move, counts up, or reads the initial count back.
%define PL_FLAGS PL_F_IRQCHIP | PL_F_PIT
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD pit_count_latch_decrements, irq, long64, "PIT counter 0 counts down: two latched reads decrease, below the initial count"
payload_main:
    PIT_COUNTER0 2, 0xFFFF      ; 55 ms a period (IRQ0 masked in the PIC)
    mov ecx, 2000
.a: pause
    dec ecx
    jnz .a
    call latch_read
    mov rbx, rax
    mov ecx, 3000
.b: pause
    dec ecx
    jnz .b
    call latch_read
    CHECK_LE rbx, 0xFFFE, "first latched count below the initial FFFFH"
    CHECK_NE rax, rbx, "the count moved between the two latches"
    cmp rax, rbx
    setb al
    movzx eax, al
    CHECK_EQ eax, 1, "the second count is lower (it counts down)"
    PAYLOAD_DONE

latch_read:                     ; rax = latched count of counter 0
    mov al, 0x00                ; counter latch, counter 0
    out 0x43, al
    in al, 0x40
    movzx edx, al
    in al, 0x40
    movzx eax, al
    shl eax, 8
    or eax, edx
    ret

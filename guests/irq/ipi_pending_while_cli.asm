; Two fixed IPIs (vectors 50H and 60H) sent to an AP spinning with IF=0 stay pending in
; its IRR (SDM Vol. 3A 10.8.4); when the AP executes STI both are taken, the higher
; priority class first (10.8.3.1: 60H before 50H), each with its ISR bit, in order.
; The AP reads its own IRR before STI.  Catches: IPIs dropped or delivered while IF=0, IRR
; not set on the target (set on the sender), the wrong priority order.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_pending_while_cli, irq, long64, "IPIs to an AP with IF=0 wait in IRR; STI takes 60H before 50H"
payload_main:
    SET_HANDLER 0x50, on_50
    SET_HANDLER 0x60, on_60
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP spinning with IF=0"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x50
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x60
    mov qword [sent], 1
    WAIT_COUNT taken, 2, 4000000000
    CHECK_EQ rax, 2, "the AP took both after STI"
    CHECK_EQ [irr50], 1, "IRR bit 50H was set while IF=0"
    CHECK_EQ [irr60], 1, "IRR bit 60H was set while IF=0"
    CHECK_EQ [early], 0, "nothing was taken while IF=0"
    CHECK_EQ [first], 0x60, "60H (class 6) was taken first"
    CHECK_EQ [second], 0x50, "then 50H"
    LAPIC_RD APIC_IRR + (0x50 / 32) * 0x10
    CHECK_MASK eax, 1 << (0x50 % 32), 0, "the sender's IRR bit 50H is clear"
    PAYLOAD_DONE

payload_ap_main:
    cli
    AP_READY ready
    WAIT_FLAG sent
    WAIT_IRR 0x60
    mov rax, [taken]
    mov [early], rax
    LAPIC_RD APIC_IRR + (0x50 / 32) * 0x10
    shr eax, 0x50 % 32
    and eax, 1
    mov [irr50], rax
    LAPIC_RD APIC_IRR + (0x60 / 32) * 0x10
    shr eax, 0x60 % 32
    and eax, 1
    mov [irr60], rax
    sti
.idle:
    hlt
    jmp .idle

on_50:
    push rax
    mov eax, 0x50
    jmp record
on_60:
    push rax
    mov eax, 0x60
record:
    cmp qword [first], 0
    jne .second
    mov [first], rax
    jmp .done
.second:
    mov [second], rax
.done:
    lock inc qword [taken]
    LAPIC_WR APIC_EOI, 0
    pop rax
    iretq
    align 8
ready:  dq 0
sent:   dq 0
taken:  dq 0
early:  dq -1
irr50:  dq -1
irr60:  dq -1
first:  dq 0
second: dq 0

; Interrupt gates clear IF; IRETQ restores it.  SDM Vol. 3 6.12.1.3: delivery
; through an interrupt gate clears IF after pushing RFLAGS; IRET pops the saved
; RFLAGS (IF = 1 here, CPL0 may change IF).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000      ; bounded TSC wait
%include "payload.inc"
%define VEC 0x72
PAYLOAD iret_restores_if, irq, long64, "interrupt gate clears IF, pushed RFLAGS has IF=1, IRETQ restores IF"
payload_main:
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    sti
    SELF_IPI VEC                    ; IF = 1: delivered right away
    WAIT_COUNT count, 1, 20000000
    pushfq
    pop rbx
    cli
    CHECK_EQ [count], 1, "handler ran once"
    CHECK_MASK [in_flags], FL_IF, 0, "IF = 0 in the handler"
    CHECK_MASK [frame_flags], FL_IF, FL_IF, "pushed RFLAGS has IF = 1"
    CHECK_MASK rbx, FL_IF, FL_IF, "IF = 1 after IRETQ"
    PAYLOAD_DONE
isr:
    push rax
    inc qword [count]
    pushfq
    pop qword [in_flags]
    mov rax, [rsp + 24]             ; frame RFLAGS (after the pushed rax)
    mov [frame_flags], rax
    LAPIC_WR APIC_EOI, 0
    pop rax
    iretq
    align 8
count: dq 0
in_flags: dq -1
frame_flags: dq 0

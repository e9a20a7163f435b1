; Only STI (and MOV SS/POP SS) open an interrupt shadow; POPF and IRET that set IF do not
; (SDM Vol. 3A 6.8.3; Vol. 2B STI: "the processor responds to interrupts after the next
; instruction"; POPF and IRET have no such clause; VMX interruptibility state has blocking
; by STI and by MOV SS only, 25.4.2).  A self-IPI waits in IRR with IF = 0; POPF that sets
; IF lets it in before the next instruction (the frame's RIP is the instruction after the
; POPF); so does IRETQ to a frame with IF set (the frame's RIP is the IRET's target).
; Catches: an emulator that gives POPF or IRET an STI-like shadow (the handler would see
; one more instruction retired), or one that waits for a later event check.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
%define VEC 0x71
PAYLOAD if_set_without_shadow, irq, long64, "POPF or IRETQ that sets IF admits a pending interrupt at once: no STI-like shadow"
payload_main:
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    cli
    SELF_IPI VEC                ; pending, masked by IF = 0
    mov qword [marker], 0
    pushfq
    or qword [rsp], 0x200
    popfq                       ; IF = 1, no shadow
after_popf:
    mov qword [marker], 1       ; must run after the handler
    cli
    CHECK_EQ [count], 1, "the interrupt came after POPF"
    CHECK_EQ [seen], 0, "before the instruction after POPF (no shadow)"
    CHECK_EQ [frame_rip], after_popf, "frame RIP = the instruction after POPF"
    SELF_IPI VEC
    mov qword [marker], 0
    mov rax, rsp
    push qword SEL_DATA         ; SS
    push rax                    ; RSP
    pushfq
    or qword [rsp], 0x200       ; RFLAGS with IF
    push qword SEL_CODE64       ; CS
    push qword iret_target      ; RIP
    iretq
iret_target:
    mov qword [marker], 2
    cli
    CHECK_EQ [count], 2, "the interrupt came after IRETQ"
    CHECK_EQ [seen], 0, "before the first instruction at the IRET target"
    CHECK_EQ [frame_rip], iret_target, "frame RIP = the IRET target"
    PAYLOAD_DONE

RIP_RECORDING_HANDLER isr, count, marker, seen, frame_rip
    align 8
count:     dq 0
marker:    dq 0
seen:      dq -1
frame_rip: dq 0

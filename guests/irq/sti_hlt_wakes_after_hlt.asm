; STI; HLT with an interrupt already pending: HLT runs in the STI shadow and the interrupt
; then wakes it, so the handler's frame RIP is the instruction after HLT, never the HLT
; itself (SDM Vol. 2B STI, Vol. 3A 6.8.3; the idle loop every OS relies on; KVM: a HLT exit
; with an interrupt pending does not block, kvm_vcpu_has_events).  Catches: the interrupt
; taken before HLT (the IRET would return to HLT and sleep: the frame RIP says so), or
; HLT blocking although an interrupt is pending (the wait is bounded by a PIT-free budget:
; the run would end in a timeout).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 40000000
%include "payload.inc"
%define VEC 0x72
PAYLOAD sti_hlt_wakes_after_hlt, irq, long64, "STI; HLT with an interrupt pending: HLT completes, the frame RIP is after the HLT"
payload_main:
    SET_HANDLER VEC, isr
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    cli
    SELF_IPI VEC
    sti
    hlt
after_hlt:
    cli
    CHECK_EQ [count], 1, "the pending interrupt woke HLT"
    CHECK_EQ [frame_rip], after_hlt, "frame RIP = the instruction after HLT"
    PAYLOAD_DONE

RIP_RECORDING_HANDLER isr, count, marker, seen, frame_rip
    align 8
count:     dq 0
marker:    dq 0
seen:      dq 0
frame_rip: dq 0

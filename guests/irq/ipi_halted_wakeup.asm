; An AP halted with IF=1 (an OS idle loop: test with IF=0, then STI; HLT, whose STI
; shadow covers the HLT, so an IPI that arrives between them still wakes it) is woken by a
; fixed IPI, takes it, and leaves its idle loop (SDM Vol. 3A 10.6.1; KVM kvm_vcpu_kick of
; a blocked vCPU).  The BSP sends only after the AP said it is about to halt and waited a
; little, so the IPI normally finds the AP blocked in HLT.  Catches: a lost kick (the AP
; sleeps on: the run times out), an IPI taken more than once.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_halted_wakeup, irq, long64, "a fixed IPI wakes an AP halted in STI; HLT and is taken"
payload_main:
    SET_HANDLER 0x48, on_48
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP about to halt"
    WAIT_COUNT never, 1, 20000000           ; let the AP reach HLT
    CHECK_EQ [got + 8], 0, "nothing woke the AP yet"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x48
    WAIT_COUNT woke, 1, 4000000000
    CHECK_EQ rax, 1, "the AP left HLT"
    CHECK_EQ [got + 8], 1, "the AP took vector 0x48 once"
    PAYLOAD_DONE

payload_ap_main:
    cli
    AP_READY ready
.sleep:                         ; an OS idle loop: test with IF=0, then STI; HLT
    cmp qword [got + 8], 0
    jne .woken
    sti
    hlt
    cli
    jmp .sleep
.woken:
    lock inc qword [woke]
.idle:
    hlt
    jmp .idle

COUNTING_HANDLER on_48, got
    align 8
got:    dq 0, 0
ready:  dq 0
woke:   dq 0
never:  dq 0

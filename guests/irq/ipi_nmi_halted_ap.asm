; An NMI IPI (ICR[10:8] = 100b) reaches an AP that is halted with IF=0 (CLI; HLT): NMIs
; are not masked by IF, so it wakes the HLT and runs the vector-2 handler (SDM Vol. 3A
; 6.7.1, 10.6.1; the vector field is ignored).  A second NMI IPI after the first handler's
; IRET arrives too.  Catches: NMI IPIs delivered as fixed vector 0 or blocked by IF, a
; halted vCPU not kicked for an NMI, NMI blocking not ended by IRET.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_nmi_halted_ap, irq, long64, "NMI IPIs wake an AP halted with IF=0 and run vector 2, twice"
payload_main:
    SET_HANDLER VEC_NMI, on_nmi
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP halted with IF=0"
    SEND_IPI 1, ICR_NMI | ICR_ASSERT | 0x77     ; vector ignored for NMI
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "the halted AP took the NMI"
    WAIT_COUNT woke, 1, 4000000000
    CHECK_EQ rax, 1, "and left HLT after its IRET"
    SEND_IPI 1, ICR_NMI | ICR_ASSERT
    WAIT_COUNT got + 8, 2, 4000000000
    CHECK_EQ rax, 2, "a second NMI after IRET arrives too"
    CHECK_EQ [got], 0, "the sender took none"
    CHECK_EQ [if_in_ap], 0, "the AP still had IF=0 (the NMI ignored IF)"
    PAYLOAD_DONE

payload_ap_main:
    cli
    AP_READY ready
    hlt
    pushfq
    pop rax
    and eax, FL_IF
    mov [if_in_ap], rax
    lock inc qword [woke]
.idle:
    hlt
    jmp .idle

COUNTING_NMI_HANDLER on_nmi, got
    align 8
got:    dq 0, 0
ready:  dq 0
woke:   dq 0
if_in_ap: dq -1

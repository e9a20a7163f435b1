; An AP sends an NMI IPI to the BSP, which is halted with IF=0 (CLI; HLT): the NMI wakes it,
; its vector-2 handler runs, and the BSP resumes after the HLT (SDM Vol. 3A 6.7.1, 10.6.1).
; The AP repeats the NMI until the BSP says it is awake (an NMI taken just before the HLT
; would otherwise leave the BSP asleep for good).  Catches: NMIs only sent from vCPU 0, a
; halted BSP not kicked for an NMI from another vCPU.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD nmi_ap_to_halted_bsp, irq, long64, "an AP's NMI IPI wakes the BSP halted with IF=0 and runs its vector-2 handler"
payload_main:
    SET_HANDLER VEC_NMI, on_nmi
    cli
    mov qword [go], 1
.sleep:                         ; halted with IF=0: only an NMI can wake it
    hlt
    cmp qword [got], 0
    je .sleep
    mov qword [awake], 1
    CHECK_GE [got], 1, "the BSP, halted with IF=0, took the AP's NMI and left HLT"
    CHECK_EQ [got + 8], 0, "the AP took none"
    PAYLOAD_DONE

payload_ap_main:
    WAIT_FLAG go
.again:
    mov ecx, 50000              ; let the BSP reach its HLT
.delay:
    pause
    dec ecx
    jnz .delay
    SEND_IPI 0, ICR_NMI | ICR_ASSERT
    mov ecx, 50000
.check:
    cmp qword [awake], 0
    jne .done
    pause
    dec ecx
    jnz .check
    jmp .again
.done:
    AP_IDLE_READY ready

COUNTING_NMI_HANDLER on_nmi, got
    align 8
got:    dq 0, 0
go:     dq 0
ready:  dq 0
awake:  dq 0

; NMI blocking on an AP: while the AP runs its NMI handler, a second NMI IPI is held
; until the handler's IRETQ (SDM Vol. 3A 6.7.1) and then delivered once.  The AP's
; handler, on its first entry, tells the BSP to send the second NMI and spins long enough
; for it to arrive; it records the count it saw before IRETQ.  Catches: NMIs nested
; inside the NMI handler, the held NMI lost at IRETQ, NMI blocking per VM instead of per
; vCPU (the BSP could not send while the AP is blocked).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 60000000
%include "payload.inc"
PAYLOAD nmi_held_in_handler_ap, irq, long64, "a second NMI IPI to an AP in its NMI handler waits for the IRETQ"
payload_main:
    SET_HANDLER VEC_NMI, on_nmi
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP idle"
    SEND_IPI 1, ICR_NMI | ICR_ASSERT
    WAIT_COUNT in_handler, 1, 4000000000
    CHECK_EQ rax, 1, "the AP is in its NMI handler"
    SEND_IPI 1, ICR_NMI | ICR_ASSERT            ; must wait for the IRETQ
    mov qword [second_sent], 1
    WAIT_COUNT entries, 2, 4000000000
    CHECK_EQ rax, 2, "the second NMI was taken after the first handler's IRETQ"
    CHECK_EQ [seen_inside], 1, "inside the first handler no second entry happened"
    WAIT_COUNT entries, 3, 20000000             ; must not come
    CHECK_EQ [entries], 2, "two NMIs, two entries"
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

on_nmi:
    push rax
    push rcx
    lock inc qword [entries]
    cmp qword [entries], 1
    jne .out
    mov qword [in_handler], 1
    WAIT_FLAG second_sent
    mov ecx, 200000                             ; time for the second NMI to (wrongly) arrive
.linger:
    pause
    dec ecx
    jnz .linger
    mov rax, [entries]
    mov [seen_inside], rax
.out:
    pop rcx
    pop rax
    iretq
    align 8
ready:       dq 0
entries:     dq 0
in_handler:  dq 0
second_sent: dq 0
seen_inside: dq -1

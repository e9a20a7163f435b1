; On the AP that takes a fixed IPI, the vector's ISR bit is set while its handler runs and
; cleared by the AP's EOI (SDM Vol. 3A 10.8.4; KVM apic_set_isr on acceptance,
; apic_clear_isr on EOI), and its IRR bit is clear once accepted.  The EOI here is written
; after the handler returned (the AP's EOI, not the BSP's, is what counts).  Catches: ISR
; tracked on the sender's LAPIC, an IPI injected without setting ISR (so a later EOI ends
; the wrong vector), EOI of an AP not reaching its own ISR.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
%define VEC 0x68
PAYLOAD ipi_isr_eoi_on_ap, irq, long64, "a fixed IPI sets the AP's ISR bit until the AP's EOI"
payload_main:
    SET_HANDLER VEC, on_68
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP idle with IF=1"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | VEC
    WAIT_COUNT done, 1, 4000000000
    CHECK_EQ rax, 1, "the AP took the IPI and sent its EOI"
    CHECK_EQ [isr_in], 1, "the AP's ISR bit was set in the handler"
    CHECK_EQ [irr_in], 0, "its IRR bit was clear in the handler"
    CHECK_EQ [isr_after], 0, "the AP's ISR bit was clear after its EOI"
    LAPIC_RD APIC_ISR + (VEC / 32) * 0x10
    CHECK_MASK eax, 1 << (VEC % 32), 0, "the sender's ISR bit is clear"
    WAIT_COUNT got, 2, 20000000             ; must not come
    CHECK_EQ [got], 1, "taken once"
    PAYLOAD_DONE

payload_ap_main:
    sti
    AP_READY ready
    WAIT_FLAG got
    LAPIC_WR APIC_EOI, 0
    LAPIC_RD APIC_ISR + (VEC / 32) * 0x10
    shr eax, VEC % 32
    and eax, 1
    mov [isr_after], rax
    lock inc qword [done]
.idle:
    hlt
    jmp .idle

on_68:                          ; no EOI: the AP sends it after the handler
    push rax
    LAPIC_RD APIC_ISR + (VEC / 32) * 0x10
    shr eax, VEC % 32
    and eax, 1
    mov [isr_in], rax
    LAPIC_RD APIC_IRR + (VEC / 32) * 0x10
    shr eax, VEC % 32
    and eax, 1
    mov [irr_in], rax
    lock inc qword [got]
    pop rax
    iretq
    align 8
got:        dq 0
ready:      dq 0
done:       dq 0
isr_in:     dq -1
irr_in:     dq -1
isr_after:  dq -1

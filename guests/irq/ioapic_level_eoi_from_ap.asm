; A level-triggered IOAPIC interrupt routed to an AP: Remote IRR (redirection entry bit
; 14) is set when the AP's LAPIC accepts it and stays set, whatever the BSP does, until
; the AP's EOI for the vector, which its LAPIC broadcasts to the IOAPIC (SDM Vol. 3A
; 10.8.5; KVM kvm_ioapic_update_eoi).  The AP's handler leaves the EOI for later; the BSP
; reads Remote IRR = 1, lowers the line, then lets the AP EOI, and reads Remote IRR = 0.
; Catches: Remote IRR cleared by the wrong vCPU's EOI or by lowering the line, EOIs of
; APs not broadcast, the TMR bit set on the BSP instead of the AP.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
%define IRQ 10
%define VEC 0x7A
PAYLOAD ioapic_level_eoi_from_ap, irq, long64, "level IOAPIC interrupt on an AP: Remote IRR held until the AP's EOI"
payload_main:
    SET_HANDLER VEC, on_7a
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF
    LAPIC_WR APIC_LVT0, APIC_LVT_MASKED
    IOAPIC_WR 0x11 + 2 * IRQ, 1 << 24               ; destination APIC ID 1
    IOAPIC_WR 0x10 + 2 * IRQ, VEC | (1 << 15)       ; fixed, level, active high
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP idle with IF=1"
    HOST_REQUEST HOST_IRQ_HIGH, IRQ
    WAIT_COUNT got, 1, 4000000000
    CHECK_GE rax, 1, "the AP took the level interrupt"   ; how often: "delivered once" below
    LAPIC_RD APIC_TMR + (VEC / 32) * 0x10
    CHECK_MASK eax, 1 << (VEC % 32), 0, "the BSP's TMR bit is clear (the vector is the AP's)"
    HOST_REQUEST HOST_IRQ_LOW, IRQ
    WAIT_COUNT never, 1, 20000000           ; let anything in flight settle
    call remote_irr
    CHECK_EQ rax, 1, "Remote IRR still 1 after the line went low (the AP has sent no EOI)"
    mov qword [eoi_now], 1
    WAIT_COUNT eoi_done, 1, 4000000000
    CHECK_EQ rax, 1, "the AP wrote EOI"
    call remote_irr
    CHECK_EQ rax, 0, "Remote IRR = 0 after the AP's EOI"
    CHECK_EQ [tmr_in_ap], 1, "the AP's TMR bit was set for the level vector"
    WAIT_COUNT got, 2, 20000000                     ; must not come: the line is low
    CHECK_EQ [got], 1, "delivered once"
    CHECK_EQ [entries_without_isr], 0, "the handler never ran without its ISR bit set"
    PAYLOAD_DONE

remote_irr:                     ; rax = Remote IRR of the entry
    mov eax, IOAPIC_BASE
    mov dword [rax], 0x10 + 2 * IRQ
    mov eax, [rax + 0x10]
    shr eax, 14
    and eax, 1
    ret

payload_ap_main:
    sti
    AP_READY ready
    WAIT_FLAG eoi_now
    LAPIC_WR APIC_EOI, 0
    lock inc qword [eoi_done]
.idle:
    hlt
    jmp .idle

on_7a:                          ; no EOI here: the AP sends it when the BSP says so
    push rax
    lock inc qword [got]
    LAPIC_RD APIC_ISR + (VEC / 32) * 0x10
    test eax, 1 << (VEC % 32)
    jnz .isr
    lock inc qword [entries_without_isr]
.isr:
    LAPIC_RD APIC_TMR + (VEC / 32) * 0x10
    shr eax, VEC % 32
    and eax, 1
    mov [tmr_in_ap], rax
    pop rax
    iretq
    align 8
got:        dq 0
never:      dq 0
ready:      dq 0
eoi_now:    dq 0
eoi_done:   dq 0
tmr_in_ap:  dq -1
entries_without_isr: dq 0

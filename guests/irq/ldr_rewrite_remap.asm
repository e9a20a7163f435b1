; Logical destinations follow LDR writes (KVM rebuilds its map on every LDR/DFR write,
; lapic.c kvm_apic_set_ldr -> kvm_recalculate_apic_map): AP 1 starts with LDR bit 1, takes
; an IPI to logical 02H, then moves to LDR bit 3: an IPI to 02H reaches nobody and one to
; 08H reaches it.  Catches: a logical map built once, an old LDR still matched.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 60000000
%include "payload.inc"
PAYLOAD ldr_rewrite_remap, irq, long64, "after an AP rewrites LDR from bit 1 to bit 3, logical IPIs follow the new bit"
payload_main:
    SET_HANDLER 0x4F, on_4f
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 1 << 24
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP with LDR bit 1, idle with IF=1"
    SEND_IPI 0x02, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x4F
    WAIT_COUNT got, 1, 4000000000
    CHECK_EQ rax, 1, "logical 02H reached the AP"
    mov qword [move], 1
    WAIT_COUNT moved, 1, 4000000000
    SEND_IPI 0x02, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x4F
    WAIT_COUNT got, 2, 20000000             ; must not come
    CHECK_EQ [got], 1, "after the move, 02H reaches nobody"
    SEND_IPI 0x08, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x4F
    WAIT_COUNT got, 2, 4000000000
    CHECK_EQ rax, 2, "and 08H reaches the AP"
    PAYLOAD_DONE

payload_ap_main:
    LAPIC_WR APIC_DFR, DFR_FLAT
    LAPIC_WR APIC_LDR, 2 << 24
    sti
    AP_READY ready
    WAIT_FLAG move
    LAPIC_WR APIC_LDR, 8 << 24
    lock inc qword [moved]
.idle:
    hlt
    jmp .idle

on_4f:
    lock inc qword [got]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
got:    dq 0
ready:  dq 0
move:   dq 0
moved:  dq 0

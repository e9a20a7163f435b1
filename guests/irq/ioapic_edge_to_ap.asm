; An IOAPIC redirection entry with physical destination APIC ID 1 (bits 63:56) sends its
; interrupt to that AP, not to the BSP (82093AA datasheet, redirection table; KVM
; ioapic_service -> kvm_irq_delivery_to_apic).  The BSP pulses GSI 9 (edge, KVM_IRQ_LINE
; 1 then 0); the AP takes vector 70H once.  Then the entry is re-aimed at APIC ID 0 and a
; second pulse reaches the BSP.  Catches: IOAPIC interrupts always sent to vCPU 0, the
; destination field ignored or read from the wrong bits, a stale route after reprogramming.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
%define IRQ 9
%define VEC 0x70
PAYLOAD ioapic_edge_to_ap, irq, long64, "an IOAPIC entry aimed at APIC ID 1 interrupts the AP; re-aimed, the BSP"
payload_main:
    SET_HANDLER VEC, on_70
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF
    LAPIC_WR APIC_LVT0, APIC_LVT_MASKED
    IOAPIC_WR 0x11 + 2 * IRQ, 1 << 24               ; destination APIC ID 1
    IOAPIC_WR 0x10 + 2 * IRQ, VEC                   ; fixed, edge, physical, unmasked
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP idle with IF=1"
    sti
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "the AP took the IOAPIC interrupt"
    WAIT_COUNT got, 1, 20000000                     ; must not come
    CHECK_EQ [got], 0, "the BSP did not"
    IOAPIC_WR 0x11 + 2 * IRQ, 0 << 24               ; destination APIC ID 0
    HOST_REQUEST HOST_IRQ_PULSE, IRQ
    WAIT_COUNT got, 1, 4000000000
    CHECK_EQ rax, 1, "re-aimed at APIC ID 0: the BSP took the next one"
    WAIT_COUNT got + 8, 2, 20000000                 ; must not come
    cli
    CHECK_EQ [got + 8], 1, "and the AP nothing more"
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

COUNTING_HANDLER on_70, got
    align 8
got:    dq 0, 0
ready:  dq 0

; After a write to ICR low sends an IPI, ICR reads back what was written with the delivery
; status bit (12) clear: KVM delivers at once (lapic.c kvm_apic_send_ipi, and the ICR
; write clears APIC_ICR_BUSY); ICR high keeps the destination in bits 31:24 (SDM Vol. 3A
; 10.6.1).  The IPI (vector 49H to APIC ID 1) is taken.  Catches: a busy bit left set
; (guests that poll it hang), ICR low or high not stored, high reading back shifted.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD ipi_icr_readback, irq, long64, "ICR reads back the sent value with delivery status 0; high keeps the destination"
payload_main:
    SET_HANDLER 0x49, on_49
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP idle with IF=1"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x49
    LAPIC_RD APIC_ICR_LO
    CHECK_MASK eax, 0x000CDFFF, ICR_FIXED | ICR_ASSERT | 0x49, "ICR low reads back vector, mode, level; delivery status 0"
    LAPIC_RD APIC_ICR_HI
    CHECK_MASK eax, 0xFF000000, 1 << 24, "ICR high reads back destination 1 in bits 31:24"
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "the AP took vector 49H"
    PAYLOAD_DONE

payload_ap_main:
    AP_IDLE_READY ready

COUNTING_HANDLER on_49, got
    align 8
got:    dq 0, 0
ready:  dq 0

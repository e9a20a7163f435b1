; KVM_IRQFD: signalling an irqfd's eventfd raises its GSI (an edge on the IOAPIC pin of the
; default routing) without any exit, whether the guest itself signals it through an
; ioeventfd on the same eventfd (OUT -> ioeventfd -> irqfd -> interrupt, all in the kernel)
; or the VMM writes the eventfd.  Linux 6.1 virt/kvm/eventfd.c irqfd_wakeup (reads and
; clears the counter, then injects), irqfd_inject (kvm_set_irq 1 then 0 for a non-resample
; irqfd), kvm_irqfd_assign (-EBUSY when the eventfd already drives an irqfd),
; kvm_irqfd_deassign (0 whether or not one matched; after it, signals raise nothing).
;
; What it catches: a backend whose irqfd makes an exit, delivers twice or not at all, does
; not consume the eventfd's counter, keeps a deassigned irqfd, or lets one eventfd drive
; two irqfds.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_BUDGET 60000000      ; three bounded TSC waits
%include "payload.inc"
%define GSI_A 10
%define GSI_B 11
%define VEC_A 0x5A
%define VEC_B 0x5B
%define IOEV_PORT 0x530
PAYLOAD irqfd_ioeventfd, irq, long64, "KVM_IRQFD: a guest OUT to an ioeventfd on its eventfd, or a host write, raises the GSI"
payload_main:
    SET_HANDLER VEC_A, isr_a
    SET_HANDLER VEC_B, isr_b
    PIC_INIT 0x20, 0x28, 0xFF, 0xFF           ; keep the 8259 out of the way
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVT0, APIC_LVT_MASKED
    IOAPIC_WR 0x11 + 2 * GSI_A, 0
    IOAPIC_WR 0x10 + 2 * GSI_A, VEC_A         ; fixed, physical, edge, unmasked
    IOAPIC_WR 0x11 + 2 * GSI_B, 0
    IOAPIC_WR 0x10 + 2 * GSI_B, VEC_B

    EVENTFD EFD_IRQFD, 0, 0, 0, 0, GSI_A
    CHECK_EQ rax, 0, "irqfd on eventfd 0 for GSI 10"
    EVENTFD EFD_IOEVENTFD, 0, IOEV_PORT, 0, 1, IOEVENTFD_PIO
    CHECK_EQ rax, 0, "ioeventfd on the same eventfd"
    EVENTFD EFD_IRQFD, 0, 0, 0, 0, 12
    CHECK_EQ rax, -16, "a second irqfd on the same eventfd: -EBUSY"

    ; The guest's own OUT raises GSI 10: no exit on the way.
    EXITS_MARK
    sti
    mov dx, IOEV_PORT
    out dx, al
    WAIT_COUNT count_a, 1, 20000000
    cli
    CHECK_EXITS_SINCE 1, "OUT -> ioeventfd -> irqfd: no exit on the way"
    CHECK_EQ [count_a], 1, "vector 0x5A once"
    EVENTFD EFD_READ, 0, 0, 0, 0, 0
    CHECK_EQ rax, 0, "the irqfd consumed the eventfd's counter"

    ; The VMM signals eventfd 1, an irqfd for GSI 11.
    EVENTFD EFD_IRQFD, 1, 0, 0, 0, GSI_B
    CHECK_EQ rax, 0, "irqfd on eventfd 1 for GSI 11"
    sti
    EVENTFD EFD_SIGNAL, 1, 0, 0, 0, 0
    WAIT_COUNT count_b, 1, 20000000
    cli
    CHECK_EQ [count_b], 1, "a host write of eventfd 1: vector 0x5B once"

    ; Deassigned: a signal raises nothing (a window in which nothing may happen).
    EVENTFD EFD_IRQFD_DEASSIGN, 1, 0, 0, 0, GSI_B
    CHECK_EQ rax, 0, "deassign the irqfd of GSI 11"
    EVENTFD EFD_IRQFD_DEASSIGN, 1, 0, 0, 0, 13
    CHECK_EQ rax, 0, "deassigning an irqfd that is not there: 0"
    sti
    EVENTFD EFD_SIGNAL, 1, 0, 0, 0, 0
    WAIT_COUNT count_b, 2, 2000000
    cli
    CHECK_EQ [count_b], 1, "after KVM_IRQFD_FLAG_DEASSIGN a signal raises nothing"
    EVENTFD EFD_READ, 1, 0, 0, 0, 0
    CHECK_EQ rax, 1, "the signal stays in the eventfd"
    CHECK_EQ [count_a], 1, "vector 0x5A still once"
    PAYLOAD_DONE

isr_a:
    inc qword [count_a]
    LAPIC_WR APIC_EOI, 0
    iretq
isr_b:
    inc qword [count_b]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
count_a: dq 0
count_b: dq 0

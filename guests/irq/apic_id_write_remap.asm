; In xAPIC mode KVM lets the guest write the APIC ID register (lapic.c kvm_lapic_reg_write
; APIC_ID -> kvm_apic_set_xapic_id) and rebuilds its destination map: after AP 1 writes ID
; 5, a physical IPI to 5 reaches it and one to 1 reaches nobody; after it writes 1 back,
; 1 works again.  Catches: a destination map computed once at vCPU creation (the IPI to 5
; lost, the one to 1 still delivered), the ID register ignoring writes.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 60000000
%include "payload.inc"
PAYLOAD apic_id_write_remap, irq, long64, "an AP that writes xAPIC ID 5 takes IPIs for 5, not for 1, until it writes 1 back"
payload_main:
    SET_HANDLER 0x4B, on_4b
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP idle with IF=1"
    mov qword [cmd], 5                      ; AP: write ID 5
    WAIT_COUNT acked, 1, 4000000000
    CHECK_EQ [ap_id_read], 5 << 24, "the AP reads back ID 5 in bits 31:24"
    SEND_IPI 5, ICR_FIXED | ICR_ASSERT | 0x4B
    WAIT_COUNT got, 1, 4000000000
    CHECK_EQ rax, 1, "an IPI to APIC ID 5 reached the AP"
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x4B
    WAIT_COUNT got, 2, 20000000             ; must not come
    CHECK_EQ [got], 1, "an IPI to its old ID 1 reached nobody"
    mov qword [cmd], 1                      ; AP: write ID 1 back
    WAIT_COUNT acked, 2, 4000000000
    SEND_IPI 1, ICR_FIXED | ICR_ASSERT | 0x4B
    WAIT_COUNT got, 2, 4000000000
    CHECK_EQ rax, 2, "with ID 1 again, an IPI to 1 reaches it"
    PAYLOAD_DONE

payload_ap_main:
    sti
    AP_READY ready
.serve:                         ; each command: write that ID, read it back, acknowledge
    WAIT_FLAG cmd
    mov rax, [cmd]
    mov qword [cmd], 0
    shl eax, 24
    mov ebx, LAPIC_BASE
    mov [rbx + APIC_ID], eax
    mov eax, [rbx + APIC_ID]
    mov [ap_id_read], rax
    lock inc qword [acked]
    jmp .serve

on_4b:
    lock inc qword [got]
    LAPIC_WR APIC_EOI, 0
    iretq
    align 8
got:        dq 0
ready:      dq 0
cmd:        dq 0
acked:      dq 0
ap_id_read: dq -1

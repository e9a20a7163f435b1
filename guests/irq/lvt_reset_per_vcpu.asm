; The LVT after reset, per vCPU (KVM lapic.c kvm_lapic_reset): every LVT entry masked, except
; that the BSP's LINT0 is ExtINT and unmasked (700H) under KVM_X86_QUIRK_LINT0_REENABLED, on
; by default, so a BSP gets 8259 interrupts without programming its LAPIC; an AP's LINT0 is
; masked (10000H).  Read before anything writes them (the boot path only sets SVR).
; Catches: the BSP quirk applied to every vCPU (APs would take PIC interrupts) or to none,
; LVT entries not masked at reset.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%include "payload.inc"
PAYLOAD lvt_reset_per_vcpu, irq, long64, "after reset the BSP's LINT0 is ExtINT unmasked (KVM quirk), an AP's masked; other LVTs masked"
payload_main:
    LAPIC_RD APIC_LVT0
    CHECK_EQ eax, 0x700, "BSP LVT0 = 700H: ExtINT, unmasked (KVM_X86_QUIRK_LINT0_REENABLED)"
    LAPIC_RD APIC_LVT1
    CHECK_EQ eax, APIC_LVT_MASKED, "BSP LVT1 masked"
    LAPIC_RD APIC_LVTT
    CHECK_EQ eax, APIC_LVT_MASKED, "BSP LVT timer masked"
    LAPIC_RD APIC_LVTERR
    CHECK_EQ eax, APIC_LVT_MASKED, "BSP LVT error masked"
    mov qword [go], 1
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "the AP read its LVT"
    CHECK_EQ [ap_lvt0], APIC_LVT_MASKED, "AP LVT0 masked (the quirk is the BSP's only)"
    CHECK_EQ [ap_lvt1], APIC_LVT_MASKED, "AP LVT1 masked"
    CHECK_EQ [ap_lvtt], APIC_LVT_MASKED, "AP LVT timer masked"
    PAYLOAD_DONE

payload_ap_main:
    WAIT_FLAG go
    LAPIC_RD APIC_LVT0
    mov [ap_lvt0], rax
    LAPIC_RD APIC_LVT1
    mov [ap_lvt1], rax
    LAPIC_RD APIC_LVTT
    mov [ap_lvtt], rax
    AP_IDLE_READY ready
    align 8
go:      dq 0
ready:   dq 0
ap_lvt0: dq -1
ap_lvt1: dq -1
ap_lvtt: dq -1

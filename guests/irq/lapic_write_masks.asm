; What each xAPIC register keeps of a write of all ones, as KVM's in-kernel LAPIC stores it
; (Linux 6.1 lapic.c kvm_lapic_reg_write): TPR val & 0xFF; LDR val & 0xFF000000; DFR
; val | 0x0FFFFFFF; SVR val & 0x3FF (no directed EOI with an in-kernel IOAPIC,
; kvm_apic_set_version); ICR2 val & 0xFF000000; TDCR val & 0xB; LVT timer LVT_MASK (0x110FF)
; plus the timer-mode bits the CPUID allows (bit 17, and bit 18 with TSC-deadline);
; LINT0 LINT_MASK (0x1F7FF); LVT error LVT_MASK.  With the APIC software-disabled (SVR bit 8
; clear) every LVT write is forced masked.  A port that stores reserved bits, or forgets the
; forced mask, fails the line that names the register.
%define PL_FLAGS PL_F_IRQCHIP
%include "payload.inc"
PAYLOAD lapic_write_masks, irq, long64, "xAPIC registers keep what KVM's lapic.c keeps of an all-ones write"
%macro ALL_ONES 1
    LAPIC_WR %1, 0xFFFFFFFF
    LAPIC_RD %1
%endmacro
payload_main:
    cli
    ALL_ONES APIC_SVR
    CHECK_EQ eax, 0x3FF, "SVR keeps bits 9:0 (vector, enable, focus)"
    ALL_ONES APIC_TPR
    CHECK_EQ eax, 0xFF, "TPR keeps bits 7:0"
    LAPIC_WR APIC_TPR, 0
    ALL_ONES 0xD0                       ; LDR
    CHECK_EQ eax, 0xFF000000, "LDR keeps bits 31:24"
    LAPIC_WR 0xE0, 0                    ; DFR
    LAPIC_RD 0xE0
    CHECK_EQ eax, 0x0FFFFFFF, "DFR: bits 27:0 read as ones (cluster model 0)"
    ALL_ONES 0xE0
    CHECK_EQ eax, 0xFFFFFFFF, "DFR all ones (flat model)"
    ALL_ONES APIC_ICR_HI
    CHECK_EQ eax, 0xFF000000, "ICR2 keeps the destination, bits 31:24"
    LAPIC_WR APIC_ICR_HI, 0
    ALL_ONES APIC_TDCR
    CHECK_EQ eax, 0xB, "TDCR keeps bits 0, 1, 3"
    mov eax, 1
    cpuid
    mov ebx, 0x000110FF | (3 << 17)     ; LVT_MASK | timer mode bits 18:17 (TSC-deadline)
    bt ecx, 24
    jc .tscdl
    mov ebx, 0x000110FF | (1 << 17)     ; without TSC-deadline: only bit 17 (periodic)
.tscdl:
    ALL_ONES APIC_LVTT
    CHECK_EQ eax, ebx, "LVT timer keeps LVT_MASK and the timer modes CPUID allows"
    LAPIC_WR APIC_LVTT, APIC_LVT_MASKED
    ALL_ONES APIC_LVT0
    CHECK_EQ eax, 0x1F7FF, "LINT0 keeps LINT_MASK (mode, polarity, remote IRR, trigger)"
    LAPIC_WR APIC_LVT0, APIC_LVT_MASKED
    ALL_ONES APIC_LVTERR
    CHECK_EQ eax, 0x110FF, "LVT error keeps LVT_MASK"
    ; Software-disabled: LVT writes are forced masked.
    LAPIC_WR APIC_SVR, 0xFF
    LAPIC_WR APIC_LVTERR, 0x33
    LAPIC_RD APIC_LVTERR
    CHECK_EQ eax, 0x10033, "with SVR.enable = 0 an unmasked LVT write reads back masked"
    LAPIC_WR APIC_SVR, APIC_SVR_ENABLE | 0xFF
    LAPIC_WR APIC_LVTERR, 0x33
    LAPIC_RD APIC_LVTERR
    CHECK_EQ eax, 0x33, "enabled again: the LVT write is kept unmasked"
    LAPIC_WR APIC_LVTERR, APIC_LVT_MASKED
    PAYLOAD_DONE

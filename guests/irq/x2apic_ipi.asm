; x2APIC mode (IA32_APIC_BASE.EN|EXTD, SDM Vol. 3A 10.12.1): the APIC ID MSR 802H reads
; the vCPU id in all 32 bits, and an IPI is one WRMSR of the 64-bit ICR (MSR 830H) with
; the destination in bits 63:32 (10.12.9); EOI is a WRMSR of 0 to MSR 80BH.  Both vCPUs
; switch to x2APIC mode; the BSP sends vector 4CH to x2APIC ID 1, which takes it.  Skipped
; when CPUID.1:ECX[21] (x2APIC) is 0.  Catches: the destination taken from ICR[63:56] as
; in xAPIC mode (ID 0 would get it), x2APIC IDs not the vCPU ids, MSR EOI not ending the
; interrupt.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD x2apic_ipi, irq, long64, "x2APIC: IDs from MSR 802H, an IPI by one WRMSR of ICR with destination in 63:32"
payload_main:
    REQUIRE_X2APIC
    SET_HANDLER 0x4C, on_4c
    X2APIC_ENABLE
    mov ecx, MSR_X2APIC_ID
    rdmsr
    CHECK_EQ eax, 0, "BSP x2APIC ID (MSR 802H) = 0"
    mov qword [go], 1
    WAIT_COUNT ready, 1, 4000000000
    CHECK_EQ rax, 1, "AP in x2APIC mode, idle with IF=1"
    CHECK_EQ [ap_id], 1, "AP x2APIC ID (MSR 802H) = 1"
    mov ecx, MSR_X2APIC_ICR
    mov edx, 1                  ; destination x2APIC ID 1 in ICR[63:32]
    mov eax, ICR_FIXED | ICR_ASSERT | 0x4C
    wrmsr
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "x2APIC ID 1 took vector 4CH"
    WAIT_COUNT got, 1, 20000000             ; must not come
    CHECK_EQ [got], 0, "the BSP (ID 0) did not"
    CHECK_EQ [isr_after_eoi], 0, "the AP's MSR EOI cleared the in-service vector"
    PAYLOAD_DONE

payload_ap_main:
    WAIT_FLAG go
    X2APIC_ENABLE
    mov ecx, MSR_X2APIC_ID
    rdmsr
    mov [ap_id], rax
    AP_IDLE_READY ready

on_4c:
    push rax
    push rcx
    push rdx
    mov ecx, MSR_X2APIC_ID
    rdmsr
    lock inc qword [got + rax * 8]
    mov ecx, MSR_X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    mov ecx, 0x810 + (0x4C / 32)            ; ISR word of the vector (MSR 810H..817H)
    rdmsr
    shr eax, 0x4C % 32
    and eax, 1
    mov [isr_after_eoi], rax
    pop rdx
    pop rcx
    pop rax
    iretq
    align 8
got:    dq 0, 0
ready:  dq 0
go:     dq 0
ap_id:  dq -1
isr_after_eoi: dq -1

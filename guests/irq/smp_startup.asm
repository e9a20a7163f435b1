; Four vCPUs brought up as an OS does (smp.inc): INIT, then two start-up IPIs to all
; excluding self.  SDM Vol. 3A 9.4.4: an AP in wait-for-SIPI starts in real mode at
; CS = vector << 8, IP = 0; a SIPI to an AP that already started is ignored (10.6.1),
; so each AP checks in exactly once.  Every vCPU's LAPIC ID is its vCPU id (KVM: the
; default xAPIC ID is vcpu_id, kvm_apic_set_xapic_id) and its CPUID.1:EBX[31:24] (the
; initial APIC ID the harness sets per vCPU) matches.  Catches: an AP started at the
; wrong address or twice, APIC IDs that are not the vCPU ids, one CPUID table for all.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 40000000
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD smp_startup, irq, long64, "INIT/SIPI/SIPI starts 3 APs once each; APIC and CPUID IDs are the vCPU ids"
payload_main:
    CHECK_EQ [SMP_ALIVE], 3, "three APs checked in once each (a repeated SIPI is ignored)"
    mov ebx, LAPIC_BASE
    mov eax, [rbx + APIC_ID]
    shr eax, 24
    CHECK_EQ eax, 0, "BSP LAPIC ID is 0"
    mov eax, 1
    cpuid
    shr ebx, 24
    CHECK_EQ ebx, 0, "BSP CPUID.1:EBX[31:24] is 0"
    ; each AP stored (LAPIC ID, CPUID initial APIC ID) at seen[id]
    mov ecx, 1
.each:
    mov rax, [seen_lapic + rcx * 8]
    CHECK_EQ rax, rcx, "AP n's LAPIC ID is n"
    mov rax, [seen_cpuid + rcx * 8]
    CHECK_EQ rax, rcx, "AP n's CPUID.1:EBX[31:24] is n"
    inc ecx
    cmp ecx, 4
    jb .each
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    mov esi, edi
    mov [seen_lapic + rsi * 8], rsi
    mov eax, 1
    cpuid
    shr ebx, 24
    mov [seen_cpuid + rsi * 8], rbx
    ret

    align 8
seen_lapic: dq -1, -1, -1, -1
seen_cpuid: dq -1, -1, -1, -1

; In x2APIC mode a physical destination of FFFFFFFFH is the broadcast (SDM Vol. 3A
; 10.12.9; KVM kvm_apic_broadcast with X2APIC_BROADCAST): one WRMSR of ICR reaches every
; vCPU in x2APIC mode, the sender too; FFH is just the x2APIC ID 255 (nobody here).
; Skipped without CPUID.1:ECX[21].  Catches: the xAPIC broadcast FFH kept in x2APIC mode
; (all vCPUs would take the IPI to 255), FFFFFFFFH treated as an ID.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD x2apic_broadcast, irq, long64, "x2APIC: destination FFFFFFFFH reaches every vCPU; FFH (ID 255) reaches none"
payload_main:
    REQUIRE_X2APIC
    SET_HANDLER 0x4A, on_4a
    X2APIC_ENABLE
    mov qword [go], 1
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs in x2APIC mode, idle with IF=1"
    sti
    mov ecx, MSR_X2APIC_ICR
    mov edx, 0xFF               ; x2APIC ID 255: nobody
    mov eax, ICR_FIXED | ICR_ASSERT | 0x4A
    wrmsr
    WAIT_COUNT got + 1 * 8, 1, 20000000     ; must not come
    CHECK_EQ [got + 0 * 8], 0, "FFH in x2APIC mode: the sender took nothing"
    CHECK_EQ [got + 1 * 8], 0, "FFH in x2APIC mode: AP 1 took nothing"
    mov ecx, MSR_X2APIC_ICR
    mov edx, 0xFFFFFFFF         ; broadcast
    mov eax, ICR_FIXED | ICR_ASSERT | 0x4A
    wrmsr
    WAIT_COUNT got + 0 * 8, 1, 4000000000
    WAIT_COUNT got + 1 * 8, 1, 4000000000
    WAIT_COUNT got + 2 * 8, 1, 4000000000
    cli
    CHECK_EQ [got + 0 * 8], 1, "FFFFFFFFH: the sender took it"
    CHECK_EQ [got + 1 * 8], 1, "FFFFFFFFH: AP 1 took it"
    CHECK_EQ [got + 2 * 8], 1, "FFFFFFFFH: AP 2 took it"
    PAYLOAD_DONE

payload_ap_main:
    WAIT_FLAG go
    X2APIC_ENABLE
    AP_IDLE_READY ready

X2APIC_COUNTING_HANDLER on_4a, got
    align 8
got:    dq 0, 0, 0
go:     dq 0
ready:  dq 0

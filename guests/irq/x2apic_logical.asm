; x2APIC logical destinations (SDM Vol. 3A 10.12.10.2): LDR (MSR 80DH) is read-only and
; derived from the x2APIC ID, cluster = ID[19:4] in bits 31:16 and member bit 1 << ID[3:0]
; in bits 15:0; an IPI's logical destination in ICR[63:32] names one cluster and a member
; bitmap.  Three vCPUs in x2APIC mode (LDR 1, 2, 4); destination 00000006H reaches vCPUs
; 1 and 2, not the sender.  Skipped without CPUID.1:ECX[21].  Catches: LDR writable or not
; derived, x2APIC logical destinations decoded as xAPIC flat or cluster bytes.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 3
%define PL_BUDGET 40000000
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD x2apic_logical, irq, long64, "x2APIC logical: LDR derived from the ID; destination 6 reaches IDs 1 and 2"
payload_main:
    REQUIRE_X2APIC
    SET_HANDLER 0x4D, on_4d
    X2APIC_ENABLE
    mov ecx, MSR_X2APIC_LDR
    rdmsr
    CHECK_EQ eax, 1, "BSP LDR = cluster 0, member bit 0"
    mov qword [go], 1
    WAIT_COUNT ready, 2, 4000000000
    CHECK_EQ rax, 2, "two APs in x2APIC mode, idle with IF=1"
    CHECK_EQ [ldr + 8], 2, "AP 1 LDR = cluster 0, member bit 1"
    CHECK_EQ [ldr + 16], 4, "AP 2 LDR = cluster 0, member bit 2"
    sti
    mov ecx, MSR_X2APIC_ICR
    mov edx, 6                  ; cluster 0, members 1 and 2
    mov eax, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | 0x4D
    wrmsr
    WAIT_COUNT got + 8, 1, 4000000000
    WAIT_COUNT got + 16, 1, 4000000000
    WAIT_COUNT got, 1, 20000000             ; must not come
    cli
    CHECK_EQ [got + 8], 1, "x2APIC ID 1 took it"
    CHECK_EQ [got + 16], 1, "x2APIC ID 2 took it"
    CHECK_EQ [got], 0, "the sender (member bit 0) did not"
    PAYLOAD_DONE

payload_ap_main:                ; edi = APIC ID
    WAIT_FLAG go
    X2APIC_ENABLE
    mov ecx, MSR_X2APIC_LDR
    rdmsr
    mov [ldr + rdi * 8], rax
    AP_IDLE_READY ready

X2APIC_COUNTING_HANDLER on_4d, got
    align 8
got:    dq 0, 0, 0
ldr:    dq -1, -1, -1
ready:  dq 0
go:     dq 0

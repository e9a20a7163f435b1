; The x2APIC SELF IPI register (MSR 83FH, SDM Vol. 3A 10.12.11) sends a fixed, edge IPI
; with the written vector to the writing vCPU only: an AP in x2APIC mode writes vector
; 4EH there and takes it; the BSP does not.  xAPIC mode has no such register: the BSP,
; still in xAPIC mode, gets #GP for the WRMSR (KVM lapic.c kvm_x2apic_msr_write refuses
; when not in x2APIC mode).  Skipped without CPUID.1:ECX[21].  Catches: a self IPI sent to
; vCPU 0 or to all, the MSR accepted in xAPIC mode.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD x2apic_self_ipi_ap, irq, long64, "x2APIC SELF IPI MSR 83FH on an AP reaches that AP only; #GP in xAPIC mode"
payload_main:
    REQUIRE_X2APIC
    SET_HANDLER 0x4E, on_4e
    TRY
    mov ecx, MSR_X2APIC_SELF_IPI
    mov eax, 0x4E
    xor edx, edx
    wrmsr
    CATCH VEC_GP, 0, "WRMSR 83FH in xAPIC mode: #GP(0)"
    sti
    mov qword [go], 1
    WAIT_COUNT got + 8, 1, 4000000000
    CHECK_EQ rax, 1, "the AP took its self IPI 4EH"
    WAIT_COUNT got, 1, 20000000                 ; must not come
    cli
    CHECK_EQ [got], 0, "the BSP did not"
    PAYLOAD_DONE

payload_ap_main:
    WAIT_FLAG go
    X2APIC_ENABLE
    sti
    mov ecx, MSR_X2APIC_SELF_IPI
    mov eax, 0x4E
    xor edx, edx
    wrmsr
.idle:
    hlt
    jmp .idle

X2APIC_COUNTING_HANDLER on_4e_x2, got
on_4e:                          ; the BSP stays in xAPIC mode, the AP is in x2APIC mode
    push rax
    push rcx
    push rdx
    mov ecx, MSR_APIC_BASE
    rdmsr
    pop rdx
    pop rcx
    test eax, 1 << 10
    pop rax
    jnz on_4e_x2
    push rax
    push rbx
    mov ebx, LAPIC_BASE
    lock inc qword [got]
    mov dword [rbx + APIC_EOI], 0
    pop rbx
    pop rax
    iretq
    align 8
got:    dq 0, 0
go:     dq 0

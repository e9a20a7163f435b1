; IA32_TSC_AUX (MSR C0000103H) is per logical processor, and RDTSCP returns it in ECX
; (SDM Vol. 2B RDTSCP; KVM keeps it per vCPU).  The BSP writes 1234H, the AP 5678H; each
; reads its own back through RDTSCP and RDMSR, after the other wrote.  Skipped without
; CPUID.80000001H:EDX[27] (RDTSCP).  Catches: one TSC_AUX for the whole VM, RDTSCP not
; returning TSC_AUX.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
PAYLOAD tsc_aux_per_vcpu, irq, long64, "IA32_TSC_AUX is per vCPU: RDTSCP on each returns its own value"
payload_main:
    mov eax, 0x80000001
    cpuid
    bt edx, 27
    jc .have
    SKIP "CPUID.80000001H:EDX.RDTSCP[bit 27] = 0"
    PAYLOAD_DONE
.have:
    mov ecx, 0xC0000103
    mov eax, 0x1234
    xor edx, edx
    wrmsr
    mov qword [go], 1               ; the AP writes its own now
    WAIT_COUNT done, 1, 4000000000
    CHECK_EQ rax, 1, "the AP wrote and read its TSC_AUX"
    rdtscp
    CHECK_EQ ecx, 0x1234, "RDTSCP on the BSP returns the BSP's TSC_AUX"
    mov ecx, 0xC0000103
    rdmsr
    CHECK_EQ eax, 0x1234, "RDMSR TSC_AUX on the BSP: still its own"
    CHECK_EQ [ap_rdtscp], 0x5678, "RDTSCP on the AP returned the AP's TSC_AUX"
    PAYLOAD_DONE

payload_ap_main:
    WAIT_FLAG go
    mov ecx, 0xC0000103
    mov eax, 0x5678
    xor edx, edx
    wrmsr
    rdtscp
    mov [ap_rdtscp], rcx
    lock inc qword [done]
    AP_IDLE_READY ready
    align 8
go:         dq 0
done:       dq 0
ready:      dq 0
ap_rdtscp:  dq -1

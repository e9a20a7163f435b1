; Writing IA32_TSC (MSR 10H) moves the TSC, and IA32_TSC_ADJUST (MSR 3BH, CPUID.7.0:EBX[1])
; moves by the same amount (SDM Vol. 3B 17.17.3: a WRMSR to IA32_TSC adds the difference
; to IA32_TSC_ADJUST); writing TSC_ADJUST moves the TSC by the change.  The TSC keeps
; counting up from the value written.  The TSC_ADJUST half is skipped without it (CPUID).
; Catches: a TSC write
; ignored or applied as an offset of the wrong sign, TSC_ADJUST not following TSC writes.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX | GPR_RSI | GPR_RDI)
%include "payload.inc"
%macro RDTSC64 1
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov %1, rax
%endmacro
PAYLOAD tsc_write_adjust, irq, long64, "WRMSR IA32_TSC moves the TSC and IA32_TSC_ADJUST by the same amount, and back"
payload_main:
    mov eax, 7
    xor ecx, ecx
    cpuid
    and ebx, 2
    mov [have_adjust], rbx
    mov ecx, 0x3B
    xor edi, edi
    cmp qword [have_adjust], 0
    je .noadj
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov rdi, rax                    ; TSC_ADJUST before
.noadj:
    RDTSC64 rsi
    mov rax, 1 << 40
    add rsi, rax                    ; a TSC 2^40 ahead
    mov rax, rsi
    mov rdx, rsi
    shr rdx, 32
    mov ecx, 0x10
    wrmsr
    RDTSC64 rbx
    CHECK_GE rbx, rsi, "after WRMSR IA32_TSC the TSC counts on from the value written"
    mov rax, 1 << 36
    add rax, rsi
    CHECK_LE rbx, rax, "and is near it"
    cmp qword [have_adjust], 0
    jne .adjust
    SKIP "CPUID.7.0:EBX.TSC_ADJUST[bit 1] = 0: IA32_TSC_ADJUST not checked"
    PAYLOAD_DONE
.adjust:
    mov ecx, 0x3B
    rdmsr
    shl rdx, 32
    or rax, rdx
    sub rax, rdi                    ; how much TSC_ADJUST moved
    mov rbx, 1 << 40
    sub rax, rbx                    ; minus the 2^40 jump: what the elapsed time added
    mov rbx, 1 << 36
    add rax, rbx                    ; |rest| < 2^36 -> 0 < rax < 2^37
    mov rbx, 1 << 37
    CHECK_LE rax, rbx, "IA32_TSC_ADJUST moved by the same ~2^40"
    mov ecx, 0x3B                   ; TSC_ADJUST back: the TSC goes back by 2^40
    mov rax, rdi
    mov rdx, rdi
    shr rdx, 32
    wrmsr
    RDTSC64 rbx
    CHECK_LE rbx, rsi, "writing TSC_ADJUST back moved the TSC back below the value written"
    PAYLOAD_DONE
    align 8
have_adjust: dq 0

; The TSC is one clock for the whole VM: a vCPU that reads it after another vCPU's read
; (ordered by a flag) reads a value at least as large (SDM Vol. 3B 17.17; KVM keeps the
; vCPUs' TSCs in step, kvm_synchronize_tsc).  The BSP and the AP take turns ten times,
; each reading the TSC after seeing the other's reading, and every reading must be at
; least the previous one.  Catches: a TSC per vCPU that counts only that vCPU's own
; instructions or run time (an AP that was halted lags behind), TSC offsets per vCPU.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%define PL_GPR_UNDEF (GPR_RAX | GPR_RDX | GPR_RBX)
%include "payload.inc"
; Read the TSC, count it in `backwards` if below the other vCPU's last reading, publish it.
%macro TSC_AFTER_LAST 0
    rdtsc
    shl rdx, 32
    or rax, rdx
    cmp rax, [last]
    jae %%ok
    lock inc qword [backwards]
%%ok:
    mov [last], rax
%endmacro
PAYLOAD tsc_across_vcpus, irq, long64, "TSC readings passed between two vCPUs ten times never go backwards"
payload_main:
    mov ecx, 10
.turn:
    TSC_AFTER_LAST
    mov qword [whose], 1            ; the AP's turn
.wait:
    pause
    cmp qword [whose], 0
    jne .wait
    dec ecx
    jnz .turn
    CHECK_EQ [backwards], 0, "no vCPU read a TSC below the other's earlier reading"
    CHECK_EQ [ap_turns], 10, "the AP took its ten turns"
    PAYLOAD_DONE

payload_ap_main:
.wait:
    pause
    cmp qword [whose], 1
    jne .wait
    TSC_AFTER_LAST
    inc qword [ap_turns]
    mov qword [whose], 0
    cmp qword [ap_turns], 10
    jb .wait
.idle:
    hlt
    jmp .idle
    align 8
last:       dq 0
whose:      dq 0
backwards:  dq 0
ap_turns:   dq 0

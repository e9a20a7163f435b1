; MOV to CR8 without an in-kernel LAPIC (no irqchip). SDM Vol. 3A 10.8.6.1: CR8[3:0]
; is the TPR's priority class; MOV to CR8 with bits 63:4 set raises #GP(0) (SDM
; Vol. 2B MOV to CR8). KVM on VMX has no TPR shadow without an in-kernel LAPIC and
; sets CR8-load/store exiting; handle_cr (Linux 6.1 vmx.c, case 8) completes the MOV
; and, when the new TPR is below the old one (cr8_prev > cr8), exits to userspace with
; KVM_EXIT_SET_TPR so a userspace APIC can deliver what the old TPR held back; raising
; or rewriting the same value stays in the kernel. The harness resumes after the exit,
; so the payload sees every MOV complete exactly once; the exits themselves are in the
; trace that `kvm-unit run` compares between backends (four SET_TPR exits here).
%include "payload.inc"
PAYLOAD cr8_set_tpr, exits, long64, "MOV to CR8 without irqchip: lowering exits KVM_EXIT_SET_TPR, resumes"
payload_main:
    xor esi, esi                    ; counts instructions after each MOV (run once)
    mov rax, cr8
    CHECK_EQ rax, 0, "CR8 = 0 after reset"
    mov eax, 5
    mov cr8, rax                    ; raise: no userspace exit
    inc esi
    mov rcx, cr8
    CHECK_EQ rcx, 5, "CR8 raised to 5"
    mov eax, 15
    mov cr8, rax                    ; raise to the maximum
    inc esi
    mov rcx, cr8
    CHECK_EQ rcx, 15, "CR8 raised to 15"
    mov eax, 3
    mov cr8, rax                    ; lower: KVM_EXIT_SET_TPR, then resume
    inc esi
    mov rcx, cr8
    CHECK_EQ rcx, 3, "CR8 lowered to 3 (the MOV completed before the exit)"
    CHECK_EQ esi, 3, "each instruction after a MOV to CR8 ran once"
    mov cr8, rax                    ; same value: no exit
    inc esi
    mov rcx, cr8
    CHECK_EQ rcx, 3, "CR8 rewritten with 3"
    mov eax, 2
    mov cr8, rax                    ; lower by one: exit
    inc esi
    xor eax, eax
    mov cr8, rax                    ; lower to 0: exit
    inc esi
    mov rcx, cr8
    CHECK_EQ rcx, 0, "CR8 lowered to 0"
    CHECK_EQ esi, 6, "execution resumed after every SET_TPR exit, once each"
    mov eax, 9
    mov cr8, rax
    mov rax, 0x19                   ; bit 4 set: reserved
    TRY
    mov cr8, rax
    CATCH VEC_GP, 0, "MOV to CR8 with bits 63:4 non-zero: #GP(0)"
    mov rcx, cr8
    CHECK_EQ rcx, 9, "CR8 unchanged by the faulting MOV"
    mov rax, 0x8000000000000001
    TRY
    mov cr8, rax
    CATCH VEC_GP, 0, "MOV to CR8 with bit 63 set: #GP(0)"
    mov rcx, cr8
    CHECK_EQ rcx, 9, "CR8 still 9"
    xor eax, eax
    mov cr8, rax                    ; leave TPR 0 (one more SET_TPR exit)
    PAYLOAD_DONE

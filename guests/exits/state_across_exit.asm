; Architectural state survives a userspace exit: every GPR, RFLAGS.DF/AC, CR2, DR0-DR3,
; DR6, DR7, the x87 stack, MXCSR and XMM0-15 (loaded with FXRSTOR, read back with FXSAVE:
; SDM Vol. 1 10.5.1, Table 10-2), and the MSRs a VMM saves from KVM_GET_MSR_INDEX_LIST:
; STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE, FS_BASE, SYSENTER_CS/ESP/EIP, PAT and
; EFER.SCE (Linux 6.1 x86.c msrs_to_save_all, emulated_msrs_all); the TSC moves forward.
; Each value is set, read back before the exit (so the check compares what the backend
; accepted, not the constant), then one OUT to the latch exits to userspace and
; everything is read again. A port that keeps part of this state outside the vCPU's
; saved context (a lazily switched FPU, debug registers restored only while
; breakpoints are armed, an MSR missing from its save list) fails here, and under
; `kvm-unit run --migrate` so does any backend whose save/restore loses it.
%include "payload.inc"
PAYLOAD state_across_exit, exits, long64, "GPRs, flags, CR2, DRs, x87/SSE and saved MSRs survive a userspace exit"
%define MSR_EFER            0xC0000080
%define MSR_STAR            0xC0000081
%define MSR_LSTAR           0xC0000082
%define MSR_CSTAR           0xC0000083
%define MSR_SFMASK          0xC0000084
%define MSR_FS_BASE         0xC0000100
%define MSR_KERNEL_GS_BASE  0xC0000102
%define MSR_SYSENTER_CS     0x174
%define MSR_SYSENTER_ESP    0x175
%define MSR_SYSENTER_EIP    0x176
%define MSR_PAT             0x277
%define NMSRS 10
; The snapshot block `snapshot` fills (the FXSAVE image 16-byte aligned).
%define SNAP_CR2    0
%define SNAP_DR     8
%define SNAP_DR6    40
%define SNAP_DR7    48
%define SNAP_MSR    56
%define SNAP_EFER   (SNAP_MSR + NMSRS * 8)
%define SNAP_FX     256
%define SNAP_SIZE   (SNAP_FX + 512)

; Write MSR %1 with %2 (64-bit immediate).
%macro WRMSR64 2
    mov ecx, %1
    mov rax, %2
    mov rdx, rax
    shr rdx, 32
    wrmsr
%endmacro

; Read MSR %1 into the qword at %2.
%macro RDMSR_TO 2
    mov ecx, %1
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov [%2], rax
%endmacro

payload_main:
    ; ---- set ----
    fxrstor [fx_in]
    mov rax, 0x00007FFF12340000
    mov cr2, rax
    mov rax, 0x0000100000001000
    mov dr0, rax
    mov rax, 0x0000200000002008
    mov dr1, rax
    mov rax, 0x0000300000003010
    mov dr2, rax
    mov rax, 0x0000400000003018
    mov dr3, rax
    mov eax, 0x5                    ; B0, B2
    mov dr6, rax
    mov eax, 0xDDDD0400             ; RW 01, LEN 11 for all four, no enable bit
    mov dr7, rax
    WRMSR64 MSR_STAR, 0x0023001000000000
    WRMSR64 MSR_LSTAR, 0xFFFF800012345678
    WRMSR64 MSR_CSTAR, 0xFFFF800087654320
    WRMSR64 MSR_SFMASK, 0x0000000000047700
    WRMSR64 MSR_KERNEL_GS_BASE, 0xFFFF888000001000
    WRMSR64 MSR_FS_BASE, 0x00007F0000002000
    WRMSR64 MSR_SYSENTER_CS, 0x10
    WRMSR64 MSR_SYSENTER_ESP, 0xFFFF880000004000
    WRMSR64 MSR_SYSENTER_EIP, 0xFFFFFFFF81000000
    WRMSR64 MSR_PAT, 0x0007010600070106
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1                       ; SCE
    wrmsr

    ; ---- read back before the exit (no OUT in between) ----
    mov rdi, before
    call snapshot
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [tsc_before], rax

    ; ---- the exit, with distinct values in every GPR and DF, AC set ----
    mov [saved_rsp], rsp
    mov rax, 0x1111111111111100
    mov rbx, 0x2222222222222201
    mov rcx, 0x3333333333333302
    mov rdx, 0x4444444444444403
    mov rsi, 0x5555555555555504
    mov rdi, 0x6666666666666605
    mov rbp, 0x7777777777777706
    mov r8, 0x8888888888888807
    mov r9, 0x9999999999999908
    mov r10, 0xAAAAAAAAAAAAAA09
    mov r11, 0xBBBBBBBBBBBBBB0A
    mov r12, 0xCCCCCCCCCCCCCC0B
    mov r13, 0xDDDDDDDDDDDDDD0C
    mov r14, 0xEEEEEEEEEEEEEE0D
    mov r15, 0xFFFFFFFFFFFFFF0E
    std
    pushfq
    and qword [rsp], ~0x8D5         ; CF PF AF ZF SF OF off: the last RDTSC's value set them
    or qword [rsp], 1 << 18         ; AC (CR0.AM is 0: no alignment checks)
    popfq
    pushfq
    pop qword [flags_before]
    out PORT_LATCH, al              ; KVM_EXIT_IO: userspace, then back
    pushfq
    pop qword [flags_after]
    cld
    mov [gprs_after + 0 * 8], rax
    mov [gprs_after + 1 * 8], rbx
    mov [gprs_after + 2 * 8], rcx
    mov [gprs_after + 3 * 8], rdx
    mov [gprs_after + 4 * 8], rsi
    mov [gprs_after + 5 * 8], rdi
    mov [gprs_after + 6 * 8], rbp
    mov [gprs_after + 7 * 8], r8
    mov [gprs_after + 8 * 8], r9
    mov [gprs_after + 9 * 8], r10
    mov [gprs_after + 10 * 8], r11
    mov [gprs_after + 11 * 8], r12
    mov [gprs_after + 12 * 8], r13
    mov [gprs_after + 13 * 8], r14
    mov [gprs_after + 14 * 8], r15
    mov [gprs_after + 15 * 8], rsp
    push qword [flags_after]
    and qword [rsp], ~((1 << 18) | (1 << 10))   ; AC and DF off again, the rest as the exit left it
    popfq

    ; ---- read again ----
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [tsc_after], rax
    mov rdi, after
    call snapshot

    ; ---- compare ----
    CHECK_EQ [gprs_after + 0 * 8], 0x1111111111111100, "RAX across the exit"
    CHECK_EQ [gprs_after + 1 * 8], 0x2222222222222201, "RBX across the exit"
    CHECK_EQ [gprs_after + 2 * 8], 0x3333333333333302, "RCX across the exit"
    CHECK_EQ [gprs_after + 3 * 8], 0x4444444444444403, "RDX across the exit"
    CHECK_EQ [gprs_after + 4 * 8], 0x5555555555555504, "RSI across the exit"
    CHECK_EQ [gprs_after + 5 * 8], 0x6666666666666605, "RDI across the exit"
    CHECK_EQ [gprs_after + 6 * 8], 0x7777777777777706, "RBP across the exit"
    CHECK_EQ [gprs_after + 7 * 8], 0x8888888888888807, "R8 across the exit"
    CHECK_EQ [gprs_after + 8 * 8], 0x9999999999999908, "R9 across the exit"
    CHECK_EQ [gprs_after + 9 * 8], 0xAAAAAAAAAAAAAA09, "R10 across the exit"
    CHECK_EQ [gprs_after + 10 * 8], 0xBBBBBBBBBBBBBB0A, "R11 across the exit"
    CHECK_EQ [gprs_after + 11 * 8], 0xCCCCCCCCCCCCCC0B, "R12 across the exit"
    CHECK_EQ [gprs_after + 12 * 8], 0xDDDDDDDDDDDDDD0C, "R13 across the exit"
    CHECK_EQ [gprs_after + 13 * 8], 0xEEEEEEEEEEEEEE0D, "R14 across the exit"
    CHECK_EQ [gprs_after + 14 * 8], 0xFFFFFFFFFFFFFF0E, "R15 across the exit"
    mov rax, [saved_rsp]
    CHECK_EQ [gprs_after + 15 * 8], rax, "RSP across the exit"
    mov rax, [flags_after]
    and eax, (1 << 10) | (1 << 18)
    CHECK_EQ rax, (1 << 10) | (1 << 18), "RFLAGS.DF and AC across the exit"
    mov rax, [flags_before]
    CHECK_EQ [flags_after], rax, "all of RFLAGS across the exit"

    mov rax, [before + SNAP_CR2]
    CHECK_EQ rax, 0x00007FFF12340000, "CR2 took the value"
    CHECK_EQ [after + SNAP_CR2], rax, "CR2 across the exit"
    mov rax, [before + SNAP_DR + 0 * 8]
    CHECK_EQ rax, 0x0000100000001000, "DR0 took the value"
    CHECK_EQ [after + SNAP_DR + 0 * 8], rax, "DR0 across the exit"
    mov rax, [before + SNAP_DR + 1 * 8]
    CHECK_EQ [after + SNAP_DR + 1 * 8], rax, "DR1 across the exit"
    mov rax, [before + SNAP_DR + 2 * 8]
    CHECK_EQ [after + SNAP_DR + 2 * 8], rax, "DR2 across the exit"
    mov rax, [before + SNAP_DR + 3 * 8]
    CHECK_EQ rax, 0x0000400000003018, "DR3 took the value"
    CHECK_EQ [after + SNAP_DR + 3 * 8], rax, "DR3 across the exit"
    mov rax, [before + SNAP_DR6]
    and eax, 0xF
    CHECK_EQ rax, 0x5, "DR6 B0 and B2 took the value"
    mov rax, [before + SNAP_DR6]
    CHECK_EQ [after + SNAP_DR6], rax, "DR6 across the exit"
    mov rax, [before + SNAP_DR7]
    CHECK_EQ rax, 0xDDDD0400, "DR7 took the value"
    CHECK_EQ [after + SNAP_DR7], rax, "DR7 across the exit"

%macro MSR_SAME 2
    mov rax, [before + SNAP_MSR + %1 * 8]
    CHECK_EQ [after + SNAP_MSR + %1 * 8], rax, %2
%endmacro
    MSR_SAME 0, "STAR across the exit"
    MSR_SAME 1, "LSTAR across the exit"
    MSR_SAME 2, "CSTAR across the exit"
    MSR_SAME 3, "SFMASK across the exit"
    MSR_SAME 4, "KERNEL_GS_BASE across the exit"
    MSR_SAME 5, "FS_BASE across the exit"
    MSR_SAME 6, "SYSENTER_CS across the exit"
    MSR_SAME 7, "SYSENTER_ESP across the exit"
    MSR_SAME 8, "SYSENTER_EIP across the exit"
    MSR_SAME 9, "PAT across the exit"
    mov rax, [before + SNAP_MSR + 1 * 8]
    CHECK_EQ rax, 0xFFFF800012345678, "LSTAR took the value"
    mov rax, [before + SNAP_MSR + 9 * 8]
    CHECK_EQ rax, 0x0007010600070106, "PAT took the value"
    mov rax, [before + SNAP_EFER]
    CHECK_MASK rax, 1, 1, "EFER.SCE took the value"
    CHECK_EQ [after + SNAP_EFER], rax, "EFER across the exit"

    ; FXSAVE images: FCW, FSW, abridged FTW, MXCSR, ST0-7, XMM0-15 (bytes 0-3, 24-27, 32-415).
    mov rax, [before + SNAP_FX + 0]
    mov rcx, 0x0000FFFFFFFFFFFF     ; FCW, FSW, FTW (FOP is not state KVM_SET_FPU need keep)
    and rax, rcx
    mov rdx, [after + SNAP_FX + 0]
    and rdx, rcx
    CHECK_EQ rdx, rax, "FCW, FSW and FTW across the exit"
    CHECK_EQ rax, 0x000000FF3800027F, "FCW 27FH, FSW TOP 7, all registers tagged valid"
    mov eax, [before + SNAP_FX + 24]
    CHECK_EQ eax, 0xFFBF, "MXCSR took FFBFH (FZ, RC 11, masks, flags)"
    mov edx, [after + SNAP_FX + 24]
    CHECK_EQ edx, eax, "MXCSR across the exit"
%assign i 0
%rep 8
%defstr __st_i i
    mov rax, [before + SNAP_FX + 32 + 16 * i]
    CHECK_EQ [after + SNAP_FX + 32 + 16 * i], rax, %strcat("ST", __st_i, " significand across the exit")
    movzx eax, word [before + SNAP_FX + 40 + 16 * i]
    movzx edx, word [after + SNAP_FX + 40 + 16 * i]
    CHECK_EQ edx, eax, %strcat("ST", __st_i, " sign and exponent across the exit")
%assign i i + 1
%endrep
%assign i 0
%rep 16
%defstr __xmm_i i
    mov rax, [before + SNAP_FX + 160 + 16 * i]
    CHECK_EQ [after + SNAP_FX + 160 + 16 * i], rax, %strcat("XMM", __xmm_i, "[63:0] across the exit")
    mov rax, [before + SNAP_FX + 168 + 16 * i]
    CHECK_EQ [after + SNAP_FX + 168 + 16 * i], rax, %strcat("XMM", __xmm_i, "[127:64] across the exit")
%assign i i + 1
%endrep
    mov rax, [before + SNAP_FX + 160 + 16 * 15 + 8]
    CHECK_EQ rax, 0xF0F1F2F3F4F5F6F7 ^ 0x0F0F0F0F0F0F0F0F, "XMM15[127:64] took the value (FXRSTOR of all 16 in 64-bit mode)"

    ; The TSC delta is host timing: only whether it is in range goes into a check record,
    ; and neither reading stays in RAM or in a register.
    mov rax, [tsc_after]
    sub rax, [tsc_before]
    xor ecx, ecx
    cmp rax, 1
    jb .tsc_judged
    mov rdx, 1 << 40
    cmp rax, rdx
    ja .tsc_judged
    mov ecx, 1
.tsc_judged:
    xor eax, eax
    xor edx, edx
    CHECK_EQ rcx, 1, "the TSC moved forward across the exit, by less than 2^40 ticks"
    mov qword [tsc_before], 0
    mov qword [tsc_after], 0
    ; The snapshots hold bytes the SDM leaves to the implementation (FXSAVE's FIP, FDP and
    ; MXCSR_MASK, DR6's RTM bit): judged above, not part of the RAM two backends compare.
    mov rdi, before
    mov ecx, after + SNAP_SIZE - before
    xor eax, eax
    rep stosb
    ; and the stack below RSP, where the check macros pushed some of them.
    lea rdi, [rsp - 4096]
    mov ecx, 4096
    rep stosb
    xor ecx, ecx
    xor edx, edx
    xor edi, edi
    PAYLOAD_DONE

; Reads CR2, DR0-3, DR6, DR7, the MSRs, EFER and an FXSAVE image into the block at RDI.
snapshot:
    mov rax, cr2
    mov [rdi + SNAP_CR2], rax
    mov rax, dr0
    mov [rdi + SNAP_DR + 0 * 8], rax
    mov rax, dr1
    mov [rdi + SNAP_DR + 1 * 8], rax
    mov rax, dr2
    mov [rdi + SNAP_DR + 2 * 8], rax
    mov rax, dr3
    mov [rdi + SNAP_DR + 3 * 8], rax
    mov rax, dr6
    mov [rdi + SNAP_DR6], rax
    mov rax, dr7
    mov [rdi + SNAP_DR7], rax
    RDMSR_TO MSR_STAR, rdi + SNAP_MSR + 0 * 8
    RDMSR_TO MSR_LSTAR, rdi + SNAP_MSR + 1 * 8
    RDMSR_TO MSR_CSTAR, rdi + SNAP_MSR + 2 * 8
    RDMSR_TO MSR_SFMASK, rdi + SNAP_MSR + 3 * 8
    RDMSR_TO MSR_KERNEL_GS_BASE, rdi + SNAP_MSR + 4 * 8
    RDMSR_TO MSR_FS_BASE, rdi + SNAP_MSR + 5 * 8
    RDMSR_TO MSR_SYSENTER_CS, rdi + SNAP_MSR + 6 * 8
    RDMSR_TO MSR_SYSENTER_ESP, rdi + SNAP_MSR + 7 * 8
    RDMSR_TO MSR_SYSENTER_EIP, rdi + SNAP_MSR + 8 * 8
    RDMSR_TO MSR_PAT, rdi + SNAP_MSR + 9 * 8
    RDMSR_TO MSR_EFER, rdi + SNAP_EFER
    fxsave [rdi + SNAP_FX]
    ret

    align 16
; The FXRSTOR image (64-bit format): FCW 27FH, FSW with TOP = 7, abridged FTW FFH (all
; valid), MXCSR FFBFH, ST0-7 finite values, XMM0-15 distinct patterns.
fx_in:
    dw 0x027F, 0x3800
    db 0xFF, 0
    dw 0
    dq 0, 0
    dd 0xFFBF, 0xFFFF
%assign i 0
%rep 8
    dq 0x8000000000000000 | (0x0101010101010101 * (i + 1))
    dw 0x4000 + i
    times 6 db 0
%assign i i + 1
%endrep
%assign i 0
%rep 16
    dq 0x0706050403020100 + 0x1010101010101010 * i
    dq (0xF0F1F2F3F4F5F6F7 - 0x1010101010101010 * (15 - i)) ^ 0x0F0F0F0F0F0F0F0F
%assign i i + 1
%endrep
    times 512 - ($ - fx_in) db 0

    align 16
before: times SNAP_SIZE db 0
    align 16
after:  times SNAP_SIZE db 0
gprs_after: times 16 dq 0
flags_before: dq 0
flags_after: dq 0
saved_rsp: dq 0
tsc_before: dq 0
tsc_after: dq 0

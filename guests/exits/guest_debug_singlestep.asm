; KVM_SET_GUEST_DEBUG with KVM_GUESTDBG_SINGLESTEP: every instruction ends in KVM_EXIT_DEBUG,
; exception 1, pc = the next instruction's linear address (Linux 6.1: x86.c
; kvm_arch_vcpu_ioctl_set_guest_debug sets TF through __kvm_set_rflags; vmx.c
; handle_exception_nmi reports the #DB to userspace because guest_debug has SINGLESTEP).
; Instructions that KVM itself completes after a userspace exit step too: complete_fast_pio_out
; and complete_fast_pio_in end in kvm_skip_emulated_instruction, which calls
; kvm_vcpu_do_singlestep (an exit with DR6_BS before the next instruction runs).
; Each debug exit leaves 1 << 24 | DR6[3:0] << 20 | pc[19:0] in the latch (guests/README.md
; "Guest debug requests"), so `L: in eax, 0xE0` reads 1 << 24 | L exactly when the
; instruction before L made a single-step exit (DR6.B0-B3 clear); any missing step leaves
; an older value there.
%include "payload.inc"
PAYLOAD guest_debug_singlestep, exits, long64, "KVM_GUESTDBG_SINGLESTEP: an exit after each instruction, KVM-completed IN/OUT included"
payload_main:
    GUEST_DEBUG GDB_ENABLE | GDB_SINGLESTEP, 0, 0, 0, 0, 0
    mov r15, rax
step_a:
    in eax, 0xE0                ; the exit after MOV R15, RAX: pc = step_a
    mov r8d, eax
    jmp short step_b
    ud2                         ; never runs
step_b:
    in eax, 0xE0                ; the exit after the taken JMP: pc = its target
    mov r9d, eax
    mov eax, 0x5A5A5A5A
    out 0xE0, eax               ; KVM completes this OUT: complete_fast_pio_out
step_c:
    in eax, 0xE0                ; a step exit after the OUT overwrote 5A5A5A5AH: pc = step_c
    mov r10d, eax
    mov eax, 0x12345678
    out 0xE0, eax
step_d:
    in eax, 0xE0                ; this IN's own data: the exit after the OUT (pc = step_d)
step_e:
    in eax, 0xE0                ; complete_fast_pio_in stepped too: pc = step_e
    mov r11d, eax
    GUEST_DEBUG 0, 0, 0, 0, 0, 0
    mov r14, rax
    mov eax, 0x600DF00D
    out 0xE0, eax               ; stepping is off: no exit after this OUT or the NOP
    nop
    in eax, 0xE0
    mov r13d, eax
    CHECK_EQ r15, 0, "KVM_SET_GUEST_DEBUG (ENABLE | SINGLESTEP) succeeds"
    CHECK_EQ r8, (1 << 24) + step_a, "an exit after MOV: exception 1, no B0-B3, pc at the next instruction"
    CHECK_EQ r9, (1 << 24) + step_b, "an exit after a taken JMP: pc at its target"
    CHECK_EQ r10, (1 << 24) + step_c, "an exit after an OUT that KVM completed (complete_fast_pio_out), before the next instruction"
    CHECK_EQ r11, (1 << 24) + step_e, "an exit after an IN that KVM completed (complete_fast_pio_in)"
    CHECK_EQ r14, 0, "KVM_SET_GUEST_DEBUG 0 (debugging off) succeeds"
    CHECK_EQ r13, 0x600DF00D, "with debugging off, no exit after an OUT or a NOP"
    PAYLOAD_DONE

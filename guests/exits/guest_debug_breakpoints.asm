; KVM_SET_GUEST_DEBUG with software and hardware breakpoints (Linux 6.1 vmx.c
; handle_exception_nmi: with KVM_GUESTDBG_USE_SW_BP #BP is intercepted and exits as
; KVM_EXIT_DEBUG exception 3, pc = the INT3's linear address; with USE_HW_BP the
; debugreg values are the guest's breakpoints (x86.c kvm_arch_vcpu_ioctl_set_guest_debug,
; eff_db) and a #DB exits as exception 1 with DR6 from the exit qualification. SDM Vol. 3B
; 17.2.4-17.2.5: an instruction breakpoint is a fault before the instruction, a data write
; breakpoint a trap after it; 17.3.1.1: RF suppresses an instruction breakpoint once.)
; The harness steps over an INT3, resumes a #DB with RF, and leaves exception << 24 |
; DR6[3:0] << 20 | pc[19:0] in the latch.
%include "payload.inc"
PAYLOAD guest_debug_breakpoints, exits, long64, "KVM_GUESTDBG_USE_SW_BP / USE_HW_BP: INT3, instruction and data breakpoints exit"
; DR7: L0 (instruction breakpoint at DR0), L1 with RW1 = 01 (write) and LEN1 = 10 (8 bytes).
%define DR7_VALUE (1 | 4 | (1 << 20) | (2 << 22))

payload_main:
    GUEST_DEBUG GDB_ENABLE | GDB_USE_SW_BP | GDB_USE_HW_BP, hw_nop, watched, 0, 0, DR7_VALUE
    CHECK_EQ rax, 0, "KVM_SET_GUEST_DEBUG (ENABLE | USE_SW_BP | USE_HW_BP) succeeds"
    TRY
sw_bp:
    int3
    CATCH_NONE "INT3 with USE_SW_BP: userspace sees it, the guest gets no #BP"
    in eax, 0xE0
    CHECK_EQ rax, (3 << 24) + sw_bp, "INT3 exited as KVM_EXIT_DEBUG exception 3, pc at the INT3"
    TRY
hw_nop:
    nop
    CATCH_NONE "the instruction breakpoint goes to userspace, not to the guest"
    in eax, 0xE0
    CHECK_EQ rax, (1 << 24) + (1 << 20) + hw_nop, "instruction breakpoint (DR0): exception 1 before the NOP, DR6.B0"
    mov rbx, 5
    mov [watched], rbx
after_write:
    in eax, 0xE0
    CHECK_EQ rax, (1 << 24) + (2 << 20) + after_write, "write breakpoint (DR1, 8 bytes): exception 1 after the MOV, DR6.B1, pc at the next instruction"
    CHECK_EQ qword [watched], 5, "the watched write completed before the trap"
    mov rcx, [watched]
    in eax, 0xE0
    CHECK_EQ rax, (1 << 24) + (2 << 20) + after_write, "a read of the watched qword does not exit (RW1 = write only)"
    GUEST_DEBUG 0, 0, 0, 0, 0, 0
    CHECK_EQ rax, 0, "KVM_SET_GUEST_DEBUG 0 (debugging off) succeeds"
    TRY
    int3
    CATCH VEC_BP, "with debugging off, INT3 is the guest's #BP"
    PAYLOAD_DONE

    [section .data]
    align 8
watched: dq 0
    __?SECT?__

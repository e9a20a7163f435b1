; ADD / XADD / CMPXCHG at CPL3 on RAM and on a `ram` MMIO window.  The MMIO
; variants exit to userspace through KVM's instruction emulator; the SDM defines
; the same results and flags for both (memory type does not change semantics).
%define PL_WINDOW0 0x40000000, 0x1000, WIN_RAM, 0x00
%include "payload.inc"
PAYLOAD mmio_rmw_user, emulator, user64, "CPL3 ADD/XADD/CMPXCHG on RAM vs on a ram MMIO window"
payload_main:
    mov r8, ramcell
    mov r9, 0x40000000
    call run_ops
    mov r10, r11                    ; flags log of the RAM run
    mov r12, r13                    ; result of the RAM run
    mov r8, r9
    call run_ops
    CHECK_EQ r13, r12, "MMIO result equals RAM result"
    CHECK_EQ r11, r10, "MMIO flags equal RAM flags"
    CHECK_EQ r12, 0x8000000000000004, "RAM result as the SDM defines"
    CHECK_EQ r10, 0x8A04, "RAM flags as the SDM defines: (0x894 << 4 | 0x80) + 0x44"
    ret
; r8 = cell address.  r13 = final cell value, r11 = OR of the three flag sets.
run_ops:
    mov rax, 0x7FFFFFFFFFFFFFFF
    mov [r8], rax
    add qword [r8], 1               ; overflow: OF SF AF PF
    pushfq
    pop r11
    and r11d, FL_ARITH              ; 0x894
    mov eax, 2
    lock xadd [r8], rax             ; 0x8000..0 + 2, rax = 0x8000..0
    pushfq
    pop rcx
    and ecx, FL_ARITH               ; SF = 0x80 (0x02: odd parity)
    shl r11, 4
    or r11, rcx
    mov rcx, 0x8000000000000004
    mov rax, 0x8000000000000002
    lock cmpxchg [r8], rcx          ; equal: store rcx, ZF PF
    pushfq
    pop rcx
    and ecx, FL_ARITH               ; 0x44
    add r11, rcx
    mov r13, [r8]
    ret
    align 8
ramcell: dq 0

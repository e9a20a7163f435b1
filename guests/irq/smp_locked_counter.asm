; LOCK-prefixed read-modify-writes are atomic across processors (SDM Vol. 3A 8.1.2.2): four
; vCPUs each add 1 to one counter 2000 times with LOCK INC, LOCK XADD and LOCK CMPXCHG
; loops, and a fourth counter is guarded by an XCHG spinlock (XCHG with memory is always
; locked) around a plain increment.  Every total is exact.  Catches: an emulator that
; carries out LOCK operations as a read and a separate write (KVM's does them with a
; host cmpxchg, emulate.c em_* with ctxt->lock_prefix -> emulator_cmpxchg_emulated), a
; lost XCHG lock.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 4
%define PL_BUDGET 100000000
%include "payload.inc"
%define N 2000
PAYLOAD smp_locked_counter, irq, long64, "four vCPUs: LOCK INC/XADD/CMPXCHG and an XCHG spinlock lose no update"
payload_main:
    mov qword [go], 1
    call work
    WAIT_COUNT finished, 4, 8000000000
    CHECK_EQ rax, 4, "all four vCPUs finished"
    CHECK_EQ [c_inc], 4 * N, "LOCK INC: no lost update"
    CHECK_EQ [c_xadd], 4 * N, "LOCK XADD: no lost update"
    CHECK_EQ [c_cmpxchg], 4 * N, "LOCK CMPXCHG loop: no lost update"
    CHECK_EQ [c_locked], 4 * N, "plain increments under an XCHG spinlock: no lost update"
    PAYLOAD_DONE

payload_ap_main:
    WAIT_FLAG go
    call work
    AP_IDLE_READY idle

work:
    mov ecx, N
.next:
    lock inc qword [c_inc]
    mov eax, 1
    lock xadd [c_xadd], rax
    mov rax, [c_cmpxchg]
.retry:
    lea rdx, [rax + 1]
    lock cmpxchg [c_cmpxchg], rdx
    jne .retry
    mov eax, 1
.spin:
    xchg [spinlock], eax
    test eax, eax
    jz .held
    pause
    mov eax, 1
    jmp .spin
.held:
    mov rax, [c_locked]
    inc rax
    mov [c_locked], rax
    mov dword [spinlock], 0
    dec ecx
    jnz .next
    lock inc qword [finished]
    ret
    align 8
go:         dq 0
finished:   dq 0
idle:       dq 0
c_inc:      dq 0
c_xadd:     dq 0
c_cmpxchg:  dq 0
c_locked:   dq 0
spinlock:   dd 0

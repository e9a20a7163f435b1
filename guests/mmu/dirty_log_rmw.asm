; Dirty logging sees every instruction that writes, and only those: a CMPXCHG whose compare
; fails still writes its destination back (SDM Vol. 2A CMPXCHG: "the destination operand is
; written back if the comparison fails", a locked read is always followed by a write; KVM's
; emulator does the same: emulate.c em_cmpxchg "Create write-cycle to dest by writing the
; same value"), XCHG with memory, BTS and INC write; BT and TEST only read.  Page n of an
; 8-page logging slot gets instruction n; the bitmap must be exactly the writers.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD dirty_log_rmw, mmu, long64, "dirty log: failing CMPXCHG, XCHG, BTS, INC log their page; BT and TEST do not"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 8 * 4096, 0, 0
    CHECK_EQ eax, 0, "create slot 16"
    mov rbx, GPA
    mov qword [rbx + 0 * 4096], 5           ; contents first, before logging starts
    mov qword [rbx + 1 * 4096], 6
    MEMSLOT MS_FLAGS, 16, 0, 0, MS_F_LOG, 0
    CHECK_EQ eax, 0, "switch logging on"
    mov eax, 99                             ; page 0: CMPXCHG with RAX != [m]: fails
    mov ecx, 7
    lock cmpxchg [rbx + 0 * 4096], rcx
    CHECK_EQ rax, 5, "the failing CMPXCHG loaded the destination into RAX"
    mov edx, 8                              ; page 1: XCHG
    xchg [rbx + 1 * 4096], rdx
    bt qword [rbx + 2 * 4096], 3            ; page 2: BT reads
    bts qword [rbx + 3 * 4096], 3           ; page 3: BTS writes
    test qword [rbx + 4 * 4096], rbx        ; page 4: TEST reads
    inc dword [rbx + 5 * 4096]              ; page 5: INC writes
    MEMSLOT MS_DIRTY, 16, 0, bitmap, 0, 0
    CHECK_EQ eax, 0, "KVM_GET_DIRTY_LOG succeeds"
    mov rcx, [bitmap]
    CHECK_EQ rcx, (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5), "pages 0, 1, 3, 5: the writers, the failing CMPXCHG included"
    mov rcx, [rbx + 0 * 4096]
    CHECK_EQ rcx, 5, "the failing CMPXCHG left the value"
    PAYLOAD_DONE
    [section .bss]
    alignb 8
bitmap: resq 1
    [section .text]

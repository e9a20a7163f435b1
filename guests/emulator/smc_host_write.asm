; Code written by the host between two runs of the vCPU: the dirty-log request (host
; request 0x10, MS_DIRTY) stores the bitmap of a logging slot that was never written (one
; zero u64) over the eight NOPs of a function the guest has already run.  The bytes
; 00 00 are ADD [RAX], AL, so the second call adds AL (0x10) to the byte at RAX four times.
; A decode cache that keeps its decode across KVM_RUN without looking at memory runs the
; NOPs again.  KVM: KVM_GET_DIRTY_LOG copies the bitmap to userspace, here guest RAM.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD smc_host_write, emulator, long64, "code overwritten by the host between runs executes as written"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 0x1000, MS_F_LOG, 0
    CHECK_EQ eax, 0, "create a logging slot"
    ; Called twice first: the second call runs from whatever the first left decoded.
    mov rax, scratch
    call host_func
    call host_func
    movzx eax, byte [scratch]
    CHECK_EQ rax, 0, "first calls: eight NOPs, nothing added"
    MEMSLOT MS_DIRTY, 16, 0, host_func, 0, 0
    CHECK_EQ eax, 0, "get the dirty log into the function"
    CHECK_EQ edx, 1, "one bitmap word stored"
    mov rax, [host_func]
    CHECK_EQ rax, 0, "the slot was never written: the word is zero"
    ; Another function on the same page first: the page's code is fetched again before the
    ; rewritten function is entered, as it would be by code that merely shares its page.
    call host_neighbour
    mov rax, scratch
    call host_func
    movzx eax, byte [scratch]
    CHECK_EQ rax, 0x40, "second call: four ADD [RAX], AL with AL = 0x10"
    PAYLOAD_DONE

    align 4096
host_func:
    times 8 nop
    ret
host_neighbour:
    ret
    align 4096

    [section .bss]
    alignb 256
    resb 16
scratch: resb 16

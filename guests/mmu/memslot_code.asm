; Code in a slot created at run time: the guest copies a function into the new slot and
; calls it there (a port that maps new slots without execute permission in its EPT/NPT
; entries faults here).  SDM: instruction fetch from any mapped, executable page.
%include "payload.inc"
%define GPA 0x40000000
PAYLOAD memslot_code, mmu, long64, "code copied into a run-time slot runs there"
payload_main:
    MEMSLOT MS_CREATE, 16, GPA, 0x1000, 0, 0
    CHECK_EQ eax, 0, "create slot 16"
    mov rdi, GPA + 0x100
    mov rsi, func
    mov ecx, func_end - func
    rep movsb
    mov eax, 5
    mov rbx, GPA + 0x100
    TRY
    call rbx
    CATCH_NONE "calling into the new slot does not fault"
    CHECK_EQ eax, 47, "the function ran: 5 * 9 + 2"
    PAYLOAD_DONE
func:
    imul eax, eax, 9
    add eax, 2
    ret
func_end:

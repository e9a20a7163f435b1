; Instruction fetch from an XD page.  SDM Vol. 3 4.6.2 / 4.7: with EFER.NXE = 1
; and XD = 1 in the PTE an instruction fetch faults with error code P | I/D =
; 0x11; CR2 and the saved RIP are the target address.  Data reads still work.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_nx_fetch, mmu, long64, "instruction fetch from an NX page: #PF P|I, CR2 = RIP = target"
payload_main:
    mov byte [page], 0xC3           ; RET
    mov rsi, page + (PTE_P | PTE_W | PTE_NX)
    mov rdi, TVA
    call map_4k
    mov rbx, TVA
    TRY
    movzx eax, byte [rbx]
    CATCH_NONE "data read of an NX page does not fault"
    TRY
    jmp rbx                         ; jmp, not call: nothing is pushed
    CATCH VEC_PF, PF_P | PF_I, "fetch from an NX page"
    CHECK_EQ [__exc_cr2], TVA, "CR2 = fetch address"
    CHECK_EQ [__exc_rip], TVA, "saved RIP = fetch address"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

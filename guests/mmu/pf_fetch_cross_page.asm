; An instruction that starts on a present page and ends on a not-present one.  SDM Vol. 3A
; 4.7: the fault is on the fetch of the second page: CR2 = the first byte of that page, the
; saved RIP = the start of the instruction (a fault is reported before the instruction
; executes, 6.5), error code I/D (0x10, NXE = 1) without P.  A port that reports CR2 = RIP,
; or that executes the part it has, fails.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_fetch_cross_page, mmu, long64, "an instruction crossing into a not-present page: CR2 = that page, RIP = the instruction"
payload_main:
    ; FFC: MOV EAX, imm32 (B8 + 4 bytes): opcode and three immediate bytes on this page
    ; (FFC..FFF), the last immediate byte on the next, not-present page.
    mov byte [code_page + 0xFFC], 0xB8
    mov word [code_page + 0xFFD], 0x4455
    mov byte [code_page + 0xFFF], 0x33
    MAP_4K TVA, code_page + (PTE_P | PTE_W)
    MAP_4K TVA + 0x1000, code_page + 0          ; not present
    mov rbx, TVA + 0xFFC
    mov eax, 0x5A5A
    TRY
    jmp rbx
    CATCH VEC_PF, PF_I, "fetch of the instruction's last byte from a not-present page"
    CHECK_EQ [__exc_cr2], TVA + 0x1000, "CR2 = the first byte of the not-present page"
    CHECK_EQ [__exc_rip], TVA + 0xFFC, "saved RIP = the start of the instruction"
    CHECK_EQ rax, 0x5A5A, "the instruction did not execute"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
code_page: resb 4096
    [section .text]

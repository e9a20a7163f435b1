; CLFLUSH permission checks. SDM Vol. 2A CLFLUSH: "treated as a load for permission
; checking and page faults" (and it is not subject to #AC or to write protection):
; a not-present page raises #PF with error code 0 (read, supervisor) and CR2 = the
; operand address; a read-only page and an NX page do not fault (NX restricts
; fetches only, SDM Vol. 3A 4.6); a non-canonical address raises #GP(0).
; KVM on VMX runs CLFLUSH natively. A port that treats CLFLUSH as a no-op never
; faults; one that treats it as a store faults on the read-only page (error P|W).
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX)
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD clflush_pf, mmu, long64, "CLFLUSH faults like a byte load: #PF not-present only, #GP non-canonical"
payload_main:
    mov eax, 1
    cpuid
    bt edx, 19
    jc .have_clfsh
    SKIP "CPUID.1:EDX.CLFSH = 0: CLFLUSH not available"
    PAYLOAD_DONE
.have_clfsh:
    xor eax, eax                    ; CPUID values differ between hosts: keep them off the stack
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    MAP_4K TVA, pg0 + PTE_P + PTE_W
    MAP_4K TVA + 0x1000, pg1 + PTE_P              ; read-only
    MAP_4K TVA + 0x2000, pg2                      ; not present
    mov rsi, pg3 + PTE_P + PTE_W + PTE_NX
    mov rdi, TVA + 0x3000
    call map_4k                                   ; NX, writable
    mov rbx, TVA + 0x2345
    TRY
clflush_np:
    clflush [rbx]
    CATCH VEC_PF, 0, "CLFLUSH of a not-present page: #PF, error code 0 (a read)"
    CHECK_EQ [__exc_cr2], TVA + 0x2345, "CR2 = the CLFLUSH operand address"
    CHECK_EQ [__exc_rip], clflush_np, "#PF is a fault: saved RIP = the CLFLUSH"
    mov rbx, TVA + 0x1040
    TRY
    clflush [rbx]
    CATCH_NONE "CLFLUSH of a read-only page does not fault (a load, not a store)"
    mov rbx, TVA + 0x0FFF
    TRY
    clflush [rbx]
    CATCH_NONE "CLFLUSH of a writable page does not fault"
    mov rbx, TVA + 0x3000
    TRY
    clflush [rbx]
    CATCH_NONE "CLFLUSH of an NX page does not fault"
    mov rbx, TVA + 0x2000
    TRY
    clflush [rbx]
    CATCH VEC_PF, 0, "CLFLUSH of the first byte of a not-present page: #PF"
    CHECK_EQ [__exc_cr2], TVA + 0x2000, "CR2 = TVA+0x2000"
    mov rbx, 0x0000800000000000
    TRY
    clflush [rbx]
    CATCH VEC_GP, 0, "CLFLUSH of a non-canonical address: #GP(0)"
    ; Rewrite the PTEs: whether CLFLUSH sets accessed bits is not what this payload
    ; checks, and it must not make the RAM digests of two implementations differ.
    MAP_4K TVA, pg0 + PTE_P + PTE_W
    MAP_4K TVA + 0x1000, pg1 + PTE_P
    MAP_4K TVA + 0x2000, pg2
    mov rsi, pg3 + PTE_P + PTE_W + PTE_NX
    mov rdi, TVA + 0x3000
    call map_4k
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
pg0: resb 4096
pg1: resb 4096
pg2: resb 4096
pg3: resb 4096
    [section .text]

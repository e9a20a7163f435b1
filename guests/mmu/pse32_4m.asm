; 32-bit paging with 4 MiB pages.  SDM Vol. 3 4.3: CR0.PG = 1, CR4.PAE = 0,
; CR4.PSE = 1; a PDE with PS = 1 maps a 4 MiB page (bits 31:22 of the address);
; the CPU sets A in the PDE it used (4.8).
%include "payload.inc"
PAYLOAD pse32_4m, mmu, prot32, "32-bit non-PAE paging with 4 MiB PSE pages (alias at 4 MiB)"
payload_main:
    mov dword [pd + 0], 0x00000000 | 0x83      ; 0-4 MiB identity: P | RW | PS
    mov dword [pd + 4], 0x00000000 | 0x83      ; 4-8 MiB -> physical 0
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    TRY
    mov cr0, eax                    ; legal: PE = 1, EFER.LME = 0 (SDM MOV CR0 #GP list)
    CATCH_NONE "enabling 32-bit paging (CR0.PG with CR4.PAE = 0) does not fault"
    cmp dword [__exc_vector], -1
    jne .done
    mov eax, [0x400000 + PL_LOAD_ADDR]
    CHECK_EQ eax, 0x554D564B, "[4 MiB + 0x8000] is the header magic"
    mov dword [0x400000 + var], 0x3141
    mov eax, [var]
    CHECK_EQ eax, 0x3141, "write through the alias visible at the identity address"
    mov eax, [pd + 4]
    CHECK_MASK eax, 0x20, 0x20, "A set in the PDE used"
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
.done:
    PAYLOAD_DONE
    align 4
var: dd 0
    [section .bss]
    alignb 4096
pd: resb 4096
    [section .text]

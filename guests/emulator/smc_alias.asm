; Self-modifying code through a second linear alias: the function's page is mapped again at
; ALIAS (MAP_4K), the function is called (so its code has been fetched and decoded), its
; immediate is rewritten through ALIAS, and it is called again.  SDM Vol. 3A 11.6: the
; processor detects writes to code through any linear address that maps the same physical
; memory only for stores through the same linear address; software must then execute a
; serializing instruction or a jump (here CALL/RET), after which the new bytes are fetched.
%include "payload.inc"
%define ALIAS 0x50000000
PAYLOAD smc_alias, emulator, long64, "code rewritten through a second linear alias runs as rewritten"
payload_main:
    MAP_4K ALIAS, smc_page + (PTE_P | PTE_W)
    ; Called twice first: the second call runs from whatever the first left decoded.
    call smc_func
    call smc_func
    CHECK_EQ rax, 0x1234, "first calls: the original immediate"
    mov dword [ALIAS + (smc_func - smc_page) + 1], 0x5678
    call smc_func
    CHECK_EQ rax, 0x5678, "second call: the immediate written through the alias"
    mov eax, [smc_func + 1]
    CHECK_EQ rax, 0x5678, "the code page reads the new immediate"
    PAYLOAD_DONE

    align 4096
smc_page:
smc_func:
    mov eax, 0x1234                     ; B8 imm32
    ret
    align 4096

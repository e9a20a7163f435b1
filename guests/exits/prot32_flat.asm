; 32-bit protected mode with flat segments, paging off (mode prot32): CR0.PE=1,
; CR0.PG=0, CS = SEL_CODE32 with D=1 (SDM Vol. 3 3.4.5), linear = physical.
%include "payload.inc"
PAYLOAD prot32_flat, exits, prot32, "32-bit protected mode, flat segments, paging off"
payload_main:
    mov eax, cr0
    CHECK_MASK eax, 0x80000001, 0x00000001, "CR0.PE = 1 and CR0.PG = 0"
    mov eax, cs
    CHECK_EQ eax, SEL_CODE32, "CS = flat 32-bit code selector"
    mov eax, [PL_LOAD_ADDR]
    CHECK_EQ eax, 0x554D564B, "flat DS: [0x8000] is the header magic 'KVMU'"
    mov eax, 0x10000
    push eax                        ; 32-bit stack: ESP moves by 4
    pop ecx
    CHECK_EQ ecx, 0x10000, "32-bit push/pop"
    xor ebx, ebx
    dec ebx                         ; 32-bit operand size by default (D=1)
    CHECK_EQ ebx, 0xFFFFFFFF, "default operand size is 32 bits"
    mov dx, PORT_LATCH
    mov eax, 0x600DF00D
    out dx, eax
    in eax, PORT_LATCH
    CHECK_EQ eax, 0x600DF00D, "port I/O in protected mode"
    PAYLOAD_DONE

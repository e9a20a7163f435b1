; 4 KiB page above 4 GiB.  SDM Vol. 3 4.5: a PTE maps a 4 KiB page; a linear
; address and the identity address of the same physical page alias.
%include "payload.inc"
%define TVA 0x140000000
PAYLOAD page_4k_alias, mmu, long64, "4 KiB page at 5 GiB aliases a RAM page (new PD and PT)"
payload_main:
    MAP_4K TVA, page + (PTE_P | PTE_W)
    mov rbx, TVA
    mov rax, 0x1122334455667788
    mov [rbx + 0xFF8], rax
    CHECK_EQ [page + 0xFF8], 0x1122334455667788, "write through the alias visible at the physical address"
    mov qword [page], 0x99
    CHECK_EQ [rbx], 0x99, "write at the physical address visible through the alias"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
page: resb 4096
    [section .text]

; 2 MiB page.  SDM Vol. 3 4.5: a PDE with PS = 1 maps a 2 MiB page; bits 20:0 of
; the linear address are the offset into it.
%include "payload.inc"
%define TVA 0x180000000
PAYLOAD page_2m_alias, mmu, long64, "2 MiB page at 6 GiB mapping GPA 0: offsets 0..2 MiB alias RAM"
payload_main:
    mov rdi, TVA
    call pt_get_pde
    mov qword [rax], 0 + (PTE_P | PTE_W | PTE_PS)
    invlpg [rdi]
    mov rbx, TVA
    mov eax, [rbx + PL_LOAD_ADDR]
    CHECK_EQ eax, 0x554D564B, "[6 GiB + 0x8000] is the header magic"
    mov qword [var], 0x1234
    mov rax, [rbx + var]
    CHECK_EQ rax, 0x1234, "payload data visible through the 2 MiB alias"
    mov rcx, TVA + 0x1FF000
    mov qword [rcx], 0xABCD         ; last 4 KiB of the 2 MiB page -> GPA 0x1FF000
    CHECK_EQ qword [0x1FF000], 0xABCD, "offset 0x1FF000 in the large page is GPA 0x1FF000"
    PAYLOAD_DONE
    align 8
var: dq 0

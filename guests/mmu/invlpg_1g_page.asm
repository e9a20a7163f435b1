; INVLPG of a 1 GiB page.  SDM Vol. 3A 4.10.4.1: INVLPG of any address in a large page
; invalidates the translation of the whole page.  PDPTE 2 (2-3 GiB) becomes a 1 GiB page on
; frame 0 (RAM: the payload's own image at 0x8000), then on frame 1 GiB (no memory: reads
; all ones); INVLPG is given an address 512 MiB into the page, and a read at +0x8000 must see
; the new frame.  A port that invalidates only a 4 KiB or 2 MiB entry reads the old frame.
%include "payload.inc"
%define TVA 0x80000000
PAYLOAD invlpg_1g_page, mmu, long64, "INVLPG anywhere in a 1 GiB page drops the whole page's translation"
payload_main:
    mov eax, 0x80000001
    cpuid
    bt edx, 26
    jc .has
    SKIP "CPUID.80000001H:EDX.Page1GB = 0"
    PAYLOAD_DONE
.has:
    mov rdi, TVA
    call pt_get_pdpte
    mov r12, rax
    mov r14, [r12]                      ; the boot PDPTE, restored at the end
    mov qword [r12], 0 + (PTE_P | PTE_W | PTE_PS)
    mov r13, TVA                        ; above 2 GiB: no disp32 can name it
    invlpg [r13]
    mov rbx, TVA + 0x8000
    mov rcx, [rbx]
    mov rdx, [0x8000]
    CHECK_EQ rcx, rdx, "the 1 GiB page on frame 0 reads the payload image"
    mov qword [r12], 0x40000000 + (PTE_P | PTE_W | PTE_PS)
    invlpg [r13 + 0x20000000]
    mov rcx, [rbx]
    CHECK_EQ rcx, -1, "after INVLPG 512 MiB into the page: frame 1 GiB, no memory, all ones"
    mov [r12], r14
    invlpg [r13]
    PAYLOAD_DONE

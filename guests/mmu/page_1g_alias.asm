; 1 GiB page.  SDM Vol. 3 4.5: a PDPTE with PS = 1 maps a 1 GiB page if
; CPUID.80000001H:EDX.Page1GB[26] = 1 (else the bit is reserved); skipped when
; the CPU does not enumerate 1 GiB pages.
%define PL_GPR_UNDEF (GPR_RCX | GPR_RDX)
%include "payload.inc"
%define TVA 0x4000000000
PAYLOAD page_1g_alias, mmu, long64, "1 GiB page at 256 GiB mapping GPA 0 (skipped without PDPE1GB)"
payload_main:
    mov eax, 0x80000001
    cpuid
    bt edx, 26
    jc .have
    SKIP "CPUID.80000001H:EDX.Page1GB = 0"
    PAYLOAD_DONE
.have:
    MAP_1G TVA, 0 + (PTE_P | PTE_W)
    mov rbx, TVA
    mov eax, [rbx + PL_LOAD_ADDR]
    CHECK_EQ eax, 0x554D564B, "[256 GiB + 0x8000] is the header magic"
    mov rcx, TVA + 0x1FF000
    mov qword [rcx], 0x77
    CHECK_EQ qword [0x1FF000], 0x77, "offset 0x1FF000 in the 1 GiB page is GPA 0x1FF000"
    PAYLOAD_DONE

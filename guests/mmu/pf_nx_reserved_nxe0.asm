; The XD bit without EFER.NXE.  SDM Vol. 3A 4.5 (table 4-20): bit 63 of a 4-level entry is
; XD if IA32_EFER.NXE = 1 and reserved otherwise; an access through an entry with a
; reserved bit set faults with P | RSVD (4.7), a read as well as a fetch.  With NXE = 1 the
; same entry reads fine.  KVM: reset_rsvds_bits_mask puts bit 63 in the reserved mask when
; !nx (is_efer_nx); a port that ignores NXE lets the read through.
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_nx_reserved_nxe0, mmu, long64, "PTE bit 63 with EFER.NXE = 0: #PF P|RSVD on a read; fine with NXE = 1"
payload_main:
    mov qword [page], 0x5678
    MAP_4K TVA, page + (PTE_P | PTE_W | PTE_NX)
    mov rbx, TVA
    mov r13, [rbx]
    CHECK_EQ r13, 0x5678, "NXE = 1: the XD page reads"
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~EFER_NXE
    wrmsr
    invlpg [rbx]
    TRY
    mov r13, [rbx]
    CATCH VEC_PF, PF_P | PF_RSVD, "NXE = 0: bit 63 is reserved"
    CHECK_EQ [__exc_cr2], TVA, "CR2 = the address read"
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    invlpg [rbx]
    TRY
    mov r13, [rbx]
    CATCH_NONE "NXE = 1 again: the read works"
    CHECK_EQ r13, 0x5678, "and reads the page"
    PAYLOAD_DONE

    [section .bss]
    alignb 4096
page: resb 4096

; PAE paging keeps its four PDPTEs in registers.  SDM Vol. 3A 4.4.1: with CR4.PAE = 1 and
; IA32_EFER.LME = 0, MOV to CR3 (and the CR0/CR4 writes that enter PAE paging) load the
; PDPTE registers from memory; translations use the registers, so a PDPTE changed in memory
; has no effect until the next load, even after INVLPG.  A load that finds a present PDPTE
; with a reserved bit set (PAE PDPTE bits 2:1, 8:5 and 63:MAXPHYADDR) raises #GP(0) and
; changes nothing.  KVM: load_pdptrs (x86.c) on every such CR write, kept in
; vcpu->arch.walk_mmu->pdptrs; a port that walks the PDPT in memory reads the new page early.
%define PL_RAM_SIZE 0x800000
%include "payload.inc"
%define FRAME_A 0x400000
%define FRAME_B 0x600000
%define TVA 0x40000000                  ; PDPTE 1, PDE 0: a 2 MiB page
PAYLOAD pae_pdpte_cache, mmu, prot32, "PAE: PDPTEs are loaded by MOV CR3, not read from memory; a reserved bit is #GP"
payload_main:
    mov dword [FRAME_A], 0xAAAA
    mov dword [FRAME_B], 0xBBBB
    ; PDPTE 0 -> pd0 (0-1 GiB identity with 2 MiB pages); PDPTE 1 -> pd_a (TVA -> FRAME_A).
    xor ecx, ecx
.fill:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83                        ; P | RW | PS
    mov [pd0 + ecx * 8], eax
    mov dword [pd0 + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, 512
    jb .fill
    mov dword [pd_a], FRAME_A | 0x83
    mov dword [pd_b], FRAME_B | 0x83
    mov dword [pdpt + 0], pd0 + 1       ; P
    mov dword [pdpt + 8], pd_a + 1
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, pdpt
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    TRY
    mov cr0, eax                        ; legal: PE = 1, PAE = 1, LME = 0 (SDM MOV CR0 #GP list)
    CATCH_NONE "enabling PAE paging (CR0.PG with CR4.PAE = 1, EFER.LME = 0) does not fault"
    cmp dword [__exc_vector], -1
    jne .done
    mov eax, [TVA]
    CHECK_EQ eax, 0xAAAA, "PDPTE 1 maps frame A"
    ; Point PDPTE 1 at pd_b in memory only: the register still holds pd_a.
    mov dword [pdpt + 8], pd_b + 1
    invlpg [TVA]
    mov eax, [TVA]
    CHECK_EQ eax, 0xAAAA, "after a change in memory and INVLPG: still frame A (the PDPTE register)"
    mov eax, pdpt
    mov cr3, eax
    mov eax, [TVA]
    CHECK_EQ eax, 0xBBBB, "after MOV CR3: frame B"
    ; A reserved bit (bit 1, R/W, is reserved in a PAE PDPTE): MOV CR3 faults and keeps
    ; the old registers.
    mov dword [pdpt + 8], pd_a + 1 + 2
    mov eax, pdpt
    TRY
    mov cr3, eax
    CATCH VEC_GP, 0, "MOV CR3 with a reserved bit in a present PDPTE"
    mov eax, [TVA]
    CHECK_EQ eax, 0xBBBB, "the faulting MOV CR3 left the PDPTE registers as they were"
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
.done:
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
pd0:  resb 4096
pd_a: resb 4096
pd_b: resb 4096
pdpt: resb 32
    [section .text]

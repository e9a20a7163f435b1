; Accessed and dirty flags at every level.  SDM Vol. 3A 4.8: on a translation the processor
; sets A in every paging-structure entry it uses (PML4E, PDPTE, PDE and PTE here); on a write
; it sets D only in the entry that maps the page (the PTE); D is not defined in the upper
; levels' non-leaf entries.  KVM: the guest walker (paging_tmpl.h update_accessed_dirty_bits)
; sets them at each level; a port that sets A only in the leaf fails the upper checks.
%include "payload.inc"
%define TVA 0x8000000000               ; 512 GiB: its own PML4E, PDPTE, PDE and PTE
PAYLOAD ad_bits_all_levels, mmu, long64, "A set in the PML4E, PDPTE, PDE and PTE by a read; D only in the PTE by a write"
payload_main:
    ; Build the four levels for 512 GiB by hand: PML4[1] -> PDPT -> PD -> PT -> page.
    call pt_alloc
    mov r13, rax                        ; PDPT (r13 = &PDPTE[0])
    call pt_alloc
    mov r14, rax                        ; PD (r14 = &PDE[0])
    call pt_alloc
    mov r15, rax                        ; PT (r15 = &PTE[0])
    mov rax, cr3
    and rax, ~0xFFF
    lea r12, [rax + 8]                  ; &PML4[1]
    lea rax, [r13 + (PTE_P | PTE_W)]
    mov [r12], rax
    lea rax, [r14 + (PTE_P | PTE_W)]
    mov [r13], rax
    lea rax, [r15 + (PTE_P | PTE_W)]
    mov [r14], rax
    mov qword [r15], page + (PTE_P | PTE_W)
    ; Clear A and D everywhere, then flush.
    and qword [r12], ~(PTE_A | PTE_D)
    and qword [r13], ~(PTE_A | PTE_D)
    and qword [r14], ~(PTE_A | PTE_D)
    and qword [r15], ~(PTE_A | PTE_D)
    mov rax, cr3
    mov cr3, rax
    mov rbx, TVA
    mov rax, [rbx]
    mov rax, [r12]
    CHECK_MASK rax, PTE_A, PTE_A, "read: A set in the PML4E"
    mov rax, [r13]
    CHECK_MASK rax, PTE_A, PTE_A, "read: A set in the PDPTE"
    mov rax, [r14]
    CHECK_MASK rax, PTE_A, PTE_A, "read: A set in the PDE"
    mov rax, [r15]
    CHECK_MASK rax, PTE_A | PTE_D, PTE_A, "read: A set, D clear in the PTE"
    mov qword [rbx], 1
    mov rax, [r15]
    CHECK_MASK rax, PTE_A | PTE_D, PTE_A | PTE_D, "write: D set in the PTE"
    PAYLOAD_DONE

    [section .bss]
    alignb 4096
page: resb 4096

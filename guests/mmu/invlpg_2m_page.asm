; INVLPG of a 2 MiB page.  SDM Vol. 3A 4.10.4.1: INVLPG of any linear address in a large page
; invalidates the TLB entries for the whole page.  The PDE of a 2 MiB mapping is pointed at
; another 2 MiB frame and INVLPG is given an address 1 MiB into the page; a read at the start
; of the page must see the new frame.  KVM: kvm_mmu_invlpg / the guest's INVLPG exit (EPT
; off) or a full TLB flush; a port that drops only the 4 KiB entry named reads the old frame.
%include "payload.inc"
%define TVA 0x60000000
%define FRAME_A 0x00400000             ; 4 MiB and 6 MiB: 2 MiB frames inside RAM
%define FRAME_B 0x00600000
%define PL_RAM_SIZE 0x800000
PAYLOAD invlpg_2m_page, mmu, long64, "INVLPG anywhere in a 2 MiB page drops the whole page's translation"
payload_main:
    mov qword [FRAME_A], 0xA0A0
    mov qword [FRAME_B], 0xB0B0
    mov rdi, TVA
    call pt_get_pde
    mov r12, rax
    mov qword [r12], FRAME_A + (PTE_P | PTE_W | PTE_PS)
    invlpg [TVA]
    mov rbx, TVA
    mov r13, [rbx]
    CHECK_EQ r13, 0xA0A0, "the 2 MiB mapping reads frame A"
    mov qword [r12], FRAME_B + (PTE_P | PTE_W | PTE_PS)
    invlpg [TVA + 0x100000]
    mov r13, [rbx]
    CHECK_EQ r13, 0xB0B0, "after INVLPG 1 MiB into the page, its start reads frame B"
    PAYLOAD_DONE

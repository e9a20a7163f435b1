; MAXPHYADDR comes from the guest's CPUID.  SDM Vol. 3A 4.5 (tables 4-14 to 4-20): in a
; paging-structure entry the address bits from MAXPHYADDR up to bit 51 are reserved, and an
; access through an entry with one of them set faults with P | RSVD (4.7); the bits below
; MAXPHYADDR are address bits.  KVM takes MAXPHYADDR from the vCPU's CPUID.80000008H:EAX[7:0]
; (cpuid.c cpuid_query_maxphyaddr) and builds its reserved-bit masks from it (mmu.c
; reset_rsvds_bits_mask); a port that hard-codes its own width (the illumos port's HVM-666)
; faults on the highest address bit or misses the lowest reserved one.  A GPA with no slot
; reads all ones (the harness answers the MMIO exit).
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_rsvd_maxphyaddr, mmu, long64, "PTE bit MAXPHYADDR is reserved (#PF P|RSVD), bit MAXPHYADDR-1 is an address bit"
payload_main:
    mov eax, 0x80000000
    cpuid
    mov ecx, 36                         ; no leaf 80000008H: MAXPHYADDR = 36
    cmp eax, 0x80000008
    jb .width
    mov eax, 0x80000008
    cpuid
    movzx ecx, al
.width:
    mov [maxphy], rcx
    cmp ecx, 52
    jb .test
    SKIP "MAXPHYADDR = 52: no reserved address bits"
    PAYLOAD_DONE
.test:
    mov rdi, TVA
    call pt_get_pte
    mov r12, rax                        ; r12 = &PTE of TVA
    ; Bit MAXPHYADDR set: reserved.
    mov rcx, [maxphy]
    mov eax, 1
    shl rax, cl
    or rax, page + (PTE_P | PTE_W)
    mov [r12], rax
    invlpg [TVA]
    mov rbx, TVA + 8
    TRY
    mov rax, [rbx]
    CATCH VEC_PF, PF_P | PF_RSVD, "read through a PTE with bit MAXPHYADDR set"
    CHECK_EQ [__exc_cr2], TVA + 8, "CR2 = the address read"
    ; Bit MAXPHYADDR - 1 set: an address bit; the GPA has no memory and reads all ones.
    mov rcx, [maxphy]
    dec ecx
    mov eax, 1
    shl rax, cl
    or rax, page + (PTE_P | PTE_W)
    mov [r12], rax
    invlpg [TVA]
    TRY
    mov r13, [rbx]
    CATCH_NONE "read through a PTE with bit MAXPHYADDR-1 set does not fault"
    CHECK_EQ r13, 0xFFFFFFFFFFFFFFFF, "a GPA without memory reads all ones"
    ; The same page with no high bit reads the page.
    mov qword [r12], page + (PTE_P | PTE_W)
    invlpg [TVA]
    mov qword [page + 8], 0x1234
    mov r13, [rbx]
    CHECK_EQ r13, 0x1234, "without the bit the PTE maps the page"
    PAYLOAD_DONE

    [section .bss]
    alignb 4096
page:   resb 4096
maxphy: resq 1

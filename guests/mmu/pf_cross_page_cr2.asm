; #PF for accesses that cross a page boundary into (or out of) a faulting page.
; SDM Vol. 3A 4.7: CR2 receives the linear address that caused the fault. For an
; access that starts on a good page and continues into a faulting one, that is the
; first byte of the faulting page, not the access's first or last byte; when the
; first page itself faults it is the access's first byte. KVM's emulator splits a
; page-crossing access at the boundary (Linux 6.1 x86.c emulator_read_write) and
; faults on the second fragment's start, which is the same address.
; A port that checks the last byte of the access (start + size - 1) reports
; TVA+0x1001 instead of TVA+0x1000 for the dword at TVA+0xFFE.
; Layout: TVA+0 RW | TVA+0x1000 read-only | TVA+0x2000 RW | TVA+0x3000 not present.
; Writes that fault are not checked for partial stores (the SDM leaves them open).
%include "payload.inc"
%define TVA 0x50000000
PAYLOAD pf_cross_page_cr2, mmu, long64, "CR2 for page-crossing accesses: first byte of the faulting page"
payload_main:
    MAP_4K TVA, pg0 + PTE_P + PTE_W
    MAP_4K TVA + 0x1000, pg1 + PTE_P
    MAP_4K TVA + 0x2000, pg2 + PTE_P + PTE_W
    MAP_4K TVA + 0x3000, pg3                   ; P = 0
    mov eax, 0x11223344
    ; --- MOV stores into the read-only page ---
    mov rbx, TVA + 0xFFE
    TRY
    mov [rbx], eax
    CATCH VEC_PF, PF_P | PF_W, "dword store at +FFE into a read-only page"
    CHECK_EQ [__exc_cr2], TVA + 0x1000, "CR2 = first byte of the read-only page (dword at +FFE)"
    mov rbx, TVA + 0xFFF
    TRY
    mov [rbx], ax
    CATCH VEC_PF, PF_P | PF_W, "word store at +FFF (one byte on each page)"
    CHECK_EQ [__exc_cr2], TVA + 0x1000, "CR2 = first byte of the read-only page (word at +FFF)"
    mov rbx, TVA + 0xFF9
    TRY
    mov [rbx], rax
    CATCH VEC_PF, PF_P | PF_W, "qword store at +FF9 (7 bytes, then 1)"
    CHECK_EQ [__exc_cr2], TVA + 0x1000, "CR2 = first byte of the read-only page (qword at +FF9)"
    ; the read-only page is the first one: CR2 = the access's first byte
    mov rbx, TVA + 0x1FFC
    TRY
    mov [rbx], rax
    CATCH VEC_PF, PF_P | PF_W, "qword store from the read-only page into a writable one"
    CHECK_EQ [__exc_cr2], TVA + 0x1FFC, "CR2 = first byte of the access when the first page faults"
    ; --- not-present page: stores and loads ---
    mov rbx, TVA + 0x2FFE
    TRY
    mov [rbx], eax
    CATCH VEC_PF, PF_W, "dword store at +2FFE into a not-present page"
    CHECK_EQ [__exc_cr2], TVA + 0x3000, "CR2 = first byte of the not-present page (store)"
    mov rbx, TVA + 0x2FFD
    TRY
    mov ecx, [rbx]
    CATCH VEC_PF, 0, "dword load at +2FFD from a not-present page"
    CHECK_EQ [__exc_cr2], TVA + 0x3000, "CR2 = first byte of the not-present page (load)"
    ; --- MOVBE store (CPUID.1:ECX.MOVBE[bit 22]) ---
    mov eax, 1
    cpuid
    bt ecx, 22
    jnc .no_movbe
    mov eax, 0x11223344
    mov rbx, TVA + 0xFFE
    TRY
    movbe [rbx], eax
    CATCH VEC_PF, PF_P | PF_W, "MOVBE dword store at +FFE into a read-only page"
    CHECK_EQ [__exc_cr2], TVA + 0x1000, "CR2 = first byte of the read-only page (MOVBE)"
    jmp .movbe_done
.no_movbe:
    SKIP "MOVBE not in CPUID.1:ECX: MOVBE case skipped"
.movbe_done:
    ; --- REP STOSD: the second dword crosses; the first has completed ---
    cld
    mov rdi, TVA + 0xFFA
    mov ecx, 2
    mov eax, 0x55667788
    TRY
    rep stosd
    CATCH VEC_PF, PF_P | PF_W, "REP STOSD whose second element crosses into the read-only page"
    CHECK_EQ [__exc_cr2], TVA + 0x1000, "CR2 = first byte of the read-only page (STOSD)"
    CHECK_EQ rcx, 1, "RCX counts the completed element (SDM REP: registers updated per iteration)"
    CHECK_EQ rdi, TVA + 0xFFE, "RDI points at the faulting element"
    mov edx, [pg0 + 0xFFA]
    CHECK_EQ edx, 0x55667788, "the first element was stored"
    ; --- REP MOVSD: store crossing into the read-only page ---
    mov dword [pg2], 0xA1A2A3A4
    mov rsi, TVA + 0x2000
    mov rdi, TVA + 0xFFD
    mov ecx, 1
    TRY
    rep movsd
    CATCH VEC_PF, PF_P | PF_W, "REP MOVSD store crossing into the read-only page"
    CHECK_EQ [__exc_cr2], TVA + 0x1000, "CR2 = first byte of the read-only page (MOVSD store)"
    ; --- MOVSD: load crossing into the not-present page ---
    mov rsi, TVA + 0x2FFF
    mov rdi, TVA + 0x100
    TRY
    movsd
    CATCH VEC_PF, 0, "MOVSD load crossing into the not-present page"
    CHECK_EQ [__exc_cr2], TVA + 0x3000, "CR2 = first byte of the not-present page (MOVSD load)"
    ; neighbour: a store that ends exactly at the boundary does not fault
    mov rbx, TVA + 0xFFC
    TRY
    mov [rbx], eax
    CATCH_NONE "dword store at +FFC ends on the writable page: no fault"
    PAYLOAD_DONE
    [section .bss]
    alignb 4096
pg0: resb 4096
pg1: resb 4096
pg2: resb 4096
pg3: resb 4096
    [section .text]

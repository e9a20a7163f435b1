; REP STOS and REP MOVS with a 16-bit address size (67H) in 32-bit code, through a flat
; 4 GiB segment whose base (0x50080) is not page-aligned. SDM Vol. 2B MOVS/STOS: the
; offsets are DI and SI, which wrap from 0xFFFF to 0 (and down from 0 to 0xFFFF), and
; the count is CX (the upper halves of EDI, ESI and ECX are kept). The segment limit does
; not stop the wrap here (it is 4 GiB), and the wrap falls in the middle of a page: an
; engine that moves a run of elements at once must end the run at the wrap itself. A
; port that does not writes the bytes past ES:FFFF at linear 0x60080 (ES base + 0x10000)
; instead of at ES:0000 = linear 0x50080.
%include "payload.inc"
%define WRAP_BASE 0x50080
PAYLOAD string_bulk_a16, emulator, prot32, "REP STOS/MOVS with 67H: DI/SI wrap at 0xFFFF in a 4 GiB segment"
payload_main:
    cld
    ; A copy of the GDT with one more descriptor: data, base WRAP_BASE, limit 4 GiB.
    sgdt [old_gdtr]
    movzx ecx, word [old_gdtr]
    inc ecx                                  ; bytes of the GDT = the new selector
    mov esi, [old_gdtr + 2]
    mov edi, new_gdt
    mov ebx, ecx
    rep movsb
    mov dword [new_gdt + ebx], 0x0080FFFF    ; base 15:0 = 0x0080, limit 15:0
    mov dword [new_gdt + ebx + 4], 0x00CF9205 ; base 31:24 = 0, G D/B, limit 19:16, P DPL0 RW data, base 23:16 = 5
    lea eax, [ebx + 7]
    mov [new_gdtr], ax
    mov dword [new_gdtr + 2], new_gdt
    lgdt [new_gdtr]
    mov es, bx
    mov fs, bx
    mov dword [WRAP_BASE], 0                 ; ES:0000
    mov dword [WRAP_BASE + 0x10000], 0       ; where a missed wrap would write
    ; --- a16 REP STOSB over the wrap: 2 bytes at ES:FFFE, 2 at ES:0000 --------------------
    mov edi, 0x1234FFFE
    mov ecx, 0xABCD0004
    mov al, 0xA5
    a16 rep stosb
    CHECK_EQ edi, 0x12340002, "STOSB: DI wrapped to 2, EDI[31:16] kept"
    CHECK_EQ ecx, 0xABCD0000, "STOSB: CX = 0, ECX[31:16] kept"
    mov eax, [WRAP_BASE]
    CHECK_EQ eax, 0x0000A5A5, "STOSB: the last two bytes at ES:0000"
    movzx eax, word [WRAP_BASE + 0xFFFE]
    CHECK_EQ eax, 0xA5A5, "STOSB: the first two bytes at ES:FFFE"
    mov eax, [WRAP_BASE + 0x10000]
    CHECK_EQ eax, 0, "STOSB: nothing at ES base + 0x10000"
    ; --- a16 REP MOVSW whose source wraps: FS:FFFC -> ES:0100 -----------------------------
    mov word [WRAP_BASE + 0xFFFC], 0x1111
    mov word [WRAP_BASE + 0xFFFE], 0x2222
    mov word [WRAP_BASE], 0x3333
    mov word [WRAP_BASE + 0x10000], 0x4444    ; what a missed wrap would read
    mov esi, 0xFFFC
    mov edi, 0x0100
    mov ecx, 3
    a16 rep fs movsw
    CHECK_EQ esi, 2, "MOVSW: SI wrapped to 2"
    mov eax, [WRAP_BASE + 0x100]
    CHECK_EQ eax, 0x22221111, "MOVSW: the two words below the wrap"
    movzx eax, word [WRAP_BASE + 0x104]
    CHECK_EQ eax, 0x3333, "MOVSW: the word at FS:0000 after the wrap"
    ; --- a16 REP STOSW with DF = 1 wrapping downward from ES:0002 -------------------------
    mov dword [WRAP_BASE + 0x10000], 0
    std
    mov edi, 0x0002
    mov ecx, 3
    mov ax, 0xBEEF
    a16 rep stosw                            ; ES:0002, ES:0000, ES:FFFE
    cld
    CHECK_EQ edi, 0xFFFC, "STOSW DF=1: DI wrapped to FFFC"
    movzx eax, word [WRAP_BASE + 0xFFFE]
    CHECK_EQ eax, 0xBEEF, "STOSW DF=1: the element at ES:FFFE"
    mov eax, [WRAP_BASE]
    CHECK_EQ eax, 0xBEEFBEEF, "STOSW DF=1: the elements at ES:0000 and ES:0002"
    mov eax, [WRAP_BASE + 0x10000]
    CHECK_EQ eax, 0, "STOSW DF=1: nothing at ES base + 0x10000"
    mov ax, SEL_DATA
    mov es, ax
    mov fs, ax
    lgdt [old_gdtr]
    PAYLOAD_DONE

    [section .data]
old_gdtr: dw 0
          dd 0
new_gdtr: dw 0
          dd 0
    align 8
new_gdt: times 32 dq 0

; REP STOS and REP MOVS with a 16-bit address size (real mode): DI and SI are 16-bit
; offsets that wrap from 0xFFFF to 0 inside the segment (SDM Vol. 2B MOVS/STOS: "(E)SI
; and (E)DI ... incremented or decremented" at the address size), and CX is the count.
; An engine that moves a run of elements at once must stop it where the offset wraps: a
; port that computes the run on the linear address alone writes the bytes past
; ES:FFFF at linear ES*16 + 0x10000 instead of at ES:0000.
; ES = FS = 0x5008 (linear 0x50080-0x6007F): a base that is not page-aligned, so the wrap
; at offset 0xFFFF falls in the middle of a page (with a page-aligned base it coincides
; with a page end, which a run stops at anyway); GS = 0x6008 (linear 0x60080) is where the
; wrong bytes would land. DS stays 0 (the checks' records are DS-relative); MOVS reads
; its source through an FS override.
%include "payload.inc"
PAYLOAD string_bulk_wrap16, emulator, real16, "REP STOS/MOVS with 16-bit DI/SI wrapping inside the segment"
payload_main:
    cld
    mov ax, 0x5008
    mov es, ax
    mov fs, ax
    mov ax, 0x6008
    mov gs, ax
    mov dword [gs:0], 0                      ; linear 0x60080: must stay 0
    mov dword [es:0], 0
    ; --- REP STOSB over the wrap: 2 bytes below it, 2 at ES:0000 -------------------------
    mov di, 0xFFFE
    mov cx, 4
    mov al, 0xA5
    rep stosb
    movzx eax, di
    CHECK_EQ eax, 2, "STOSB: DI wrapped to 2"
    movzx eax, cx
    CHECK_EQ eax, 0, "STOSB: CX = 0"
    mov eax, [es:0]
    CHECK_EQ eax, 0x0000A5A5, "STOSB: the last two bytes at ES:0000"
    movzx eax, word [es:0xFFFE]
    CHECK_EQ eax, 0xA5A5, "STOSB: the first two bytes at ES:FFFE"
    mov eax, [gs:0]
    CHECK_EQ eax, 0, "STOSB: nothing at linear ES*16 + 0x10000"
    ; --- REP MOVSW whose source wraps: FS:FFFC -> ES:0100 ---------------------------------
    mov word [fs:0xFFFC], 0x1111
    mov word [fs:0xFFFE], 0x2222
    mov word [fs:0x0000], 0x3333
    mov si, 0xFFFC
    mov di, 0x0100
    mov cx, 3
    db 0xF3, 0x64, 0xA5                      ; rep fs movsw
    movzx eax, si
    CHECK_EQ eax, 2, "MOVSW: SI wrapped to 2"
    mov eax, [es:0x0100]
    CHECK_EQ eax, 0x22221111, "MOVSW: the two words below the wrap"
    movzx eax, word [es:0x0104]
    CHECK_EQ eax, 0x3333, "MOVSW: the word at DS:0000 after the wrap"
    ; --- REP STOSW with DF = 1 wrapping downward from ES:0002 ---------------------------
    std
    mov di, 0x0002
    mov cx, 3
    mov ax, 0xBEEF
    rep stosw                                ; ES:0002, ES:0000, ES:FFFE
    cld
    movzx eax, di
    CHECK_EQ eax, 0xFFFC, "STOSW DF=1: DI wrapped to FFFC"
    movzx eax, word [es:0xFFFE]
    CHECK_EQ eax, 0xBEEF, "STOSW DF=1: the element at ES:FFFE"
    mov eax, [es:0]
    CHECK_EQ eax, 0xBEEFBEEF, "STOSW DF=1: the elements at ES:0000 and ES:0002"
    mov eax, [gs:0]
    CHECK_EQ eax, 0, "nothing at linear ES*16 + 0x10000 at the end"
    PAYLOAD_DONE

; REP MOVS and REP STOS on data pages (not the code page), where an engine may move whole
; runs of elements at once. SDM Vol. 2B MOVS/STOS and REP: the instruction is its
; elements one after the other, in the direction DF gives, each reading what the one
; before it wrote. So an overlapping forward copy with RDI = RSI + 1 repeats the first
; byte, and with DF = 1 and RDI = RSI - 1 the last one: a port that copies a run with
; memmove (or memcpy) gets a shifted copy instead. Runs end at page boundaries and at
; elements that straddle one (those go one by one): RSI, RDI and RCX must come out as if
; every element had been done alone, and every element must land, including the ones on
; either side of a boundary (a port that rounds the run down at a page end drops one).
; The data is in .bss, 4 KiB-aligned and away from the code page, so writes to it are
; not self-modifying code.
%include "payload.inc"
PAYLOAD string_bulk_runs, emulator, long64, "REP MOVS/STOS runs: overlap order, page boundaries, DF=1, register results"
payload_main:
    cld
    ; --- 1: forward, RDI = RSI + 1: every byte becomes the first one -------------------
    call fill16                              ; buf[0..15] = 01 02 .. 10
    mov rsi, buf
    mov rdi, buf + 1
    mov ecx, 15
    rep movsb
    mov rax, [buf]
    CHECK_EQ rax, 0x0101010101010101, "forward RDI=RSI+1: bytes 0-7 all repeat byte 0"
    mov rax, [buf + 8]
    CHECK_EQ rax, 0x0101010101010101, "forward RDI=RSI+1: bytes 8-15 all repeat byte 0"
    CHECK_EQ rsi, buf + 15, "forward RDI=RSI+1: RSI += 15"
    CHECK_EQ rdi, buf + 16, "forward RDI=RSI+1: RDI += 15"
    CHECK_EQ rcx, 0, "forward RDI=RSI+1: RCX = 0"
    ; --- 2: forward, RDI = RSI - 1: a shift down by one --------------------------------
    call fill16
    mov rsi, buf + 1
    mov rdi, buf
    mov ecx, 15
    rep movsb
    mov rax, [buf]
    CHECK_EQ rax, 0x0908070605040302, "forward RDI=RSI-1: bytes 0-7 shifted down"
    mov rax, [buf + 8]
    CHECK_EQ rax, 0x10100F0E0D0C0B0A, "forward RDI=RSI-1: bytes 8-15 shifted down, byte 15 kept"
    ; --- 3: DF = 1, RDI = RSI + 1: a shift up by one ------------------------------------
    call fill16
    std
    mov rsi, buf + 14
    mov rdi, buf + 15
    mov ecx, 15
    rep movsb
    cld
    mov rax, [buf]
    CHECK_EQ rax, 0x0706050403020101, "DF=1 RDI=RSI+1: bytes 0-7 shifted up, byte 0 kept"
    mov rax, [buf + 8]
    CHECK_EQ rax, 0x0F0E0D0C0B0A0908, "DF=1 RDI=RSI+1: bytes 8-15 shifted up"
    CHECK_EQ rsi, buf - 1, "DF=1 RDI=RSI+1: RSI -= 15"
    CHECK_EQ rdi, buf, "DF=1 RDI=RSI+1: RDI -= 15"
    ; --- 4: DF = 1, RDI = RSI - 1: every byte becomes the last one ----------------------
    call fill16
    std
    mov rsi, buf + 15
    mov rdi, buf + 14
    mov ecx, 15
    rep movsb
    cld
    mov rax, [buf]
    CHECK_EQ rax, 0x1010101010101010, "DF=1 RDI=RSI-1: bytes 0-7 all repeat byte 15"
    mov rax, [buf + 8]
    CHECK_EQ rax, 0x1010101010101010, "DF=1 RDI=RSI-1: bytes 8-15 all repeat byte 15"
    ; --- 5: REP MOVSQ, both sides across a page boundary -------------------------------
    ; source: 4 qwords from 16 bytes before the end of page 0; destination: 4 qwords from
    ; 8 bytes before the end of page 2 (the runs split at different elements).
    mov rax, 0x1111111111111111
    mov [buf + 4096 - 16], rax
    mov rax, 0x2222222222222222
    mov [buf + 4096 - 8], rax
    mov rax, 0x3333333333333333
    mov [buf + 4096], rax
    mov rax, 0x4444444444444444
    mov [buf + 4096 + 8], rax
    mov rsi, buf + 4096 - 16
    mov rdi, buf + 3 * 4096 - 8
    mov ecx, 4
    rep movsq
    mov rax, [buf + 3 * 4096 - 8]
    CHECK_EQ rax, 0x1111111111111111, "MOVSQ across pages: element 0 (last qword of page 2)"
    mov rax, [buf + 3 * 4096]
    CHECK_EQ rax, 0x2222222222222222, "MOVSQ across pages: element 1 (first qword of page 3)"
    mov rax, [buf + 3 * 4096 + 8]
    CHECK_EQ rax, 0x3333333333333333, "MOVSQ across pages: element 2"
    mov rax, [buf + 3 * 4096 + 16]
    CHECK_EQ rax, 0x4444444444444444, "MOVSQ across pages: element 3"
    CHECK_EQ rsi, buf + 4096 + 16, "MOVSQ across pages: RSI += 32"
    CHECK_EQ rdi, buf + 3 * 4096 + 24, "MOVSQ across pages: RDI += 32"
    CHECK_EQ rcx, 0, "MOVSQ across pages: RCX = 0"
    ; --- 6: REP MOVSD whose first element straddles a page boundary ---------------------
    mov dword [buf + 4096 - 2], 0xA1A2A3A4   ; bytes FFE FFF | 1000 1001
    mov dword [buf + 4096 + 2], 0xB1B2B3B4
    mov dword [buf + 4096 + 6], 0xC1C2C3C4
    mov rsi, buf + 4096 - 2
    mov rdi, buf + 2 * 4096 + 64
    mov ecx, 3
    rep movsd
    mov eax, [buf + 2 * 4096 + 64]
    CHECK_EQ rax, 0xA1A2A3A4, "MOVSD: the straddling element"
    mov eax, [buf + 2 * 4096 + 68]
    CHECK_EQ rax, 0xB1B2B3B4, "MOVSD: the element after it"
    mov eax, [buf + 2 * 4096 + 72]
    CHECK_EQ rax, 0xC1C2C3C4, "MOVSD: the last element"
    CHECK_EQ rsi, buf + 4096 + 10, "MOVSD: RSI += 12"
    ; --- 7: REP STOSQ with DF = 1 across a page boundary --------------------------------
    mov rax, 0x5A5A5A5A5A5A5A5A
    mov [buf + 4096 - 24], rax               ; the qword below the last one written
    std
    mov rdi, buf + 4096 + 8
    mov ecx, 4
    mov rax, 0x0123456789ABCDEF
    rep stosq                                ; +8, +0 (page 1), -8, -16 (page 0)
    cld
    CHECK_EQ rdi, buf + 4096 - 24, "STOSQ DF=1: RDI -= 32"
    mov rax, [buf + 4096 + 8]
    CHECK_EQ rax, 0x0123456789ABCDEF, "STOSQ DF=1: first element (page 1)"
    mov rax, [buf + 4096 - 16]
    CHECK_EQ rax, 0x0123456789ABCDEF, "STOSQ DF=1: last element (page 0)"
    mov rax, [buf + 4096 - 8]
    CHECK_EQ rax, 0x0123456789ABCDEF, "STOSQ DF=1: the element below the boundary"
    mov rax, [buf + 4096 - 24]
    CHECK_EQ rax, 0x5A5A5A5A5A5A5A5A, "STOSQ DF=1: nothing written below the last element"
    ; --- 8: REP STOSW from an odd address across a page boundary ------------------------
    mov qword [buf + 2 * 4096 - 8], 0
    mov qword [buf + 2 * 4096], 0
    mov rdi, buf + 2 * 4096 - 3
    mov ecx, 3
    mov eax, 0xBEEF
    rep stosw                                ; -3 -2 | -1 +0 (straddles) | +1 +2
    mov rax, [buf + 2 * 4096 - 8]
    CHECK_EQ rax, 0xEFBEEF0000000000, "STOSW odd start: bytes before the boundary"
    mov rax, [buf + 2 * 4096]
    CHECK_EQ rax, 0x0000000000BEEFBE, "STOSW odd start: bytes after the boundary"
    CHECK_EQ rdi, buf + 2 * 4096 + 3, "STOSW odd start: RDI += 6"
    ; --- 9: long runs: REP STOSB over three pages, REP MOVSB of two pages --------------
    mov byte [buf + 3 * 4096], 0             ; test 5 wrote here
    mov rdi, buf
    mov ecx, 3 * 4096
    mov al, 0x5C
    rep stosb
    CHECK_EQ rdi, buf + 3 * 4096, "STOSB of 3 pages: RDI"
    movzx eax, byte [buf]
    CHECK_EQ rax, 0x5C, "STOSB of 3 pages: first byte"
    movzx eax, byte [buf + 4096]
    CHECK_EQ rax, 0x5C, "STOSB of 3 pages: first byte of page 1"
    movzx eax, byte [buf + 3 * 4096 - 1]
    CHECK_EQ rax, 0x5C, "STOSB of 3 pages: last byte"
    movzx eax, byte [buf + 3 * 4096]
    CHECK_EQ rax, 0, "STOSB of 3 pages: nothing past the end"
    mov byte [buf + 4095], 0x77
    mov byte [buf + 4096], 0x88
    mov rsi, buf + 1
    mov rdi, buf + 2 * 4096 + 1
    mov ecx, 2 * 4096 - 2
    rep movsb
    movzx eax, byte [buf + 3 * 4096 - 1]
    CHECK_EQ rax, 0x77, "MOVSB of 2 pages: the byte before the source boundary"
    movzx eax, byte [buf + 3 * 4096]
    CHECK_EQ rax, 0x88, "MOVSB of 2 pages: the byte after it"
    movzx eax, byte [buf + 4 * 4096 - 2]
    CHECK_EQ rax, 0x5C, "MOVSB of 2 pages: the last byte moved"
    movzx eax, byte [buf + 4 * 4096 - 1]
    CHECK_EQ rax, 0, "MOVSB of 2 pages: nothing past the end"
    CHECK_EQ rcx, 0, "MOVSB of 2 pages: RCX = 0"
    PAYLOAD_DONE

; buf[0..15] = 01 02 ... 10
fill16:
    mov rax, 0x0807060504030201
    mov [buf], rax
    mov rax, 0x100F0E0D0C0B0A09
    mov [buf + 8], rax
    ret

    [section .bss]
buf: resb 5 * 4096

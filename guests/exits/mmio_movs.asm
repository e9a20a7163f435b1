; String instructions on MMIO.  SDM Vol. 2 MOVS/STOS with REP: RCX elements are
; transferred and RSI/RDI advance; the destination being an MMIO `ram` window
; (each element a KVM_EXIT_MMIO through KVM's emulator) does not change that.
%define PL_WINDOW0 0x40000000, 0x1000, WIN_RAM, 0x00
%include "payload.inc"
PAYLOAD mmio_movs, exits, long64, "REP MOVSB RAM->MMIO->RAM and REP STOSD to a ram window"
payload_main:
    cld
    mov rsi, src
    mov edi, 0x40000000
    mov ecx, 8
    rep movsb                       ; RAM -> MMIO
    CHECK_EQ rdi, 0x40000008, "RDI advanced by 8"
    mov esi, 0x40000000
    mov rdi, dst
    mov ecx, 8
    rep movsb                       ; MMIO -> RAM
    CHECK_EQ rsi, 0x40000008, "RSI advanced by 8"
    mov rax, [dst]
    CHECK_EQ rax, [src], "bytes survived RAM -> MMIO -> RAM"
    mov edi, 0x40000100
    mov eax, 0xDEADBEEF
    mov ecx, 3
    rep stosd
    CHECK_EQ rcx, 0, "REP STOSD: RCX = 0"
    mov ebx, 0x40000100
    mov rax, [rbx + 4]
    CHECK_EQ rax, 0xDEADBEEFDEADBEEF, "REP STOSD wrote the window"
    mov eax, [rbx + 12]
    CHECK_EQ eax, 0, "REP STOSD stopped after 3 dwords"
    PAYLOAD_DONE
src: db 1, 2, 3, 4, 5, 6, 7, 8
    align 8
dst: dq 0

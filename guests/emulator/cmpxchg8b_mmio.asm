; CMPXCHG8B on MMIO. SDM Vol. 2A CMPXCHG8B: the 64-bit destination is compared with
; EDX:EAX; equal: ZF=1 and ECX:EBX is stored; not equal: ZF=0, EDX:EAX := the
; destination, and the destination is written back with its own value (the processor
; always writes). KVM emulates it with one 8-byte operand (Linux 6.1 emulate.c
; em_cmpxchg8b, DstMem64): one 8-byte KVM_EXIT_MMIO read and one 8-byte write, with or
; without LOCK (emulator_cmpxchg_emulated falls back to a plain write for MMIO). A port
; that does two 4-byte halves makes four exits: the trace compared between backends
; shows it (and the `log` window's access log, whose digest is compared), the checks
; here catch the value/flag forms. In 64-bit mode EAX/EDX writes zero-extend (SDM
; Vol. 1 3.4.1.1); on success RAX/RDX are not written.
%define PL_WINDOW0 0x40000000, 0x1000, WIN_RAM, 0x00
%define PL_WINDOW1 0x40001000, 0x1000, WIN_LOG, 0x5A
%include "payload.inc"
PAYLOAD cmpxchg8b_mmio, emulator, long64, "CMPXCHG8B on ram/log MMIO windows: one 8-byte access each way"
payload_main:
    mov edi, 0x40000000
    mov rax, 0x1111111122222222
    mov [rdi + 8], rax
    ; --- equal: store ECX:EBX ---
    mov rdx, 0xDEAD000011111111     ; upper halves are ignored and kept on success
    mov rax, 0xBEEF000022222222
    mov ecx, 0x33333333
    mov ebx, 0x44444444
    cmpxchg8b [rdi + 8]
    CHECK_FLAGS FL_ZF, FL_ZF, "equal: ZF=1"
    mov rsi, [rdi + 8]
    CHECK_EQ rsi, 0x3333333344444444, "equal: ECX:EBX stored"
    CHECK_EQ rdx, 0xDEAD000011111111, "equal: RDX not written"
    CHECK_EQ rax, 0xBEEF000022222222, "equal: RAX not written"
    ; --- high half differs ---
    mov rdx, 0xFFFFFFFF55555555
    mov rax, 0xFFFFFFFF44444444
    lock cmpxchg8b [rdi + 8]
    CHECK_FLAGS FL_ZF, 0, "high half differs: ZF=0"
    CHECK_EQ rdx, 0x33333333, "not equal: EDX := high half, upper RDX cleared"
    CHECK_EQ rax, 0x44444444, "not equal: EAX := low half, upper RAX cleared"
    mov rsi, [rdi + 8]
    CHECK_EQ rsi, 0x3333333344444444, "not equal: destination keeps its value"
    ; --- low half differs only ---
    mov edx, 0x33333333
    mov eax, 0x44444445
    cmpxchg8b [rdi + 8]
    CHECK_FLAGS FL_ZF, 0, "low half differs: ZF=0"
    CHECK_EQ rax, 0x44444444, "low half differs: EAX := low half"
    ; --- LOCK, equal, at an offset that is 8-aligned but not 16-aligned ---
    mov edx, 0x33333333
    mov eax, 0x44444444
    mov ecx, 0x66666666
    mov ebx, 0x77777777
    lock cmpxchg8b [rdi + 8]
    CHECK_FLAGS FL_ZF, FL_ZF, "LOCK, equal: ZF=1"
    mov rsi, [rdi + 8]
    CHECK_EQ rsi, 0x6666666677777777, "LOCK, equal: ECX:EBX stored"
    mov rsi, [rdi]
    CHECK_EQ rsi, 0, "the neighbouring qword below is untouched"
    mov rsi, [rdi + 16]
    CHECK_EQ rsi, 0, "the neighbouring qword above is untouched"
    ; --- log window: reads return 5A in every byte; writes are logged, not stored ---
    mov edi, 0x40001000
    mov edx, 0x5A5A5A5A
    mov eax, 0x5A5A5A5A
    mov ecx, 0x01020304
    mov ebx, 0x05060708
    cmpxchg8b [rdi + 0x40]
    CHECK_FLAGS FL_ZF, FL_ZF, "log window, equal to the fill: ZF=1"
    xor edx, edx
    xor eax, eax
    cmpxchg8b [rdi + 0x48]
    CHECK_FLAGS FL_ZF, 0, "log window, not equal: ZF=0"
    CHECK_EQ rdx, 0x5A5A5A5A, "log window: EDX := fill"
    CHECK_EQ rax, 0x5A5A5A5A, "log window: EAX := fill"
    PAYLOAD_DONE

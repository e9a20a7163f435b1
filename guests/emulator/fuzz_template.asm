; The image `kvm-unit fuzz` fills with generated programs (Sources/Conformance/Fuzz). As a
; catalogue payload it runs its default program area: one program of no instructions.
; Fuzz block (guests/README.md "Fuzz template"): the tag "KVMUFUZZ", then u64 GPAs and
; sizes of the code area and the result area, the scratch cell, the MMIO window base, the
; faulting programs' cell (64 bytes before a not-present page) and idt.inc's TRY variables.
; Each generated program sets R15 to the scratch cell (RAM) or to the window (MMIO), seeds
; eight qwords there and the registers and flags, runs its instructions, and stores
; RAX..R14, RFLAGS and the eight qwords into its 200-byte result record; the area ends in RET.
%define PL_WINDOW0 0x40000000, 0x1000, WIN_RAM, 0x00
%define PL_BUDGET 50000000
%define FUZZ_CODE_SIZE 0x20000
%define FUZZ_RESULT_SIZE 0x10000
%define PL_RAM_SIZE 0x400000
%define PL_SETUP
%include "payload.inc"
PAYLOAD fuzz_template, emulator, user64, "kvm-unit fuzz's template: a program area, run empty here"
; CPL0, before IRETQ: the page after fuzz_edge is made not present, so a program's last
; instruction can fault on it (crossing into it from the edge page, or inside it).
payload_setup:
    MAP_4K fuzz_np, 0
    ret
payload_main:
    fninit                          ; x87 programs: FCW 0x37F (all masked, nearest, 64-bit)
    push 0x600DF00D                 ; programs change every register but RSP
    call fuzz_code
    pop rbx
    CHECK_EQ rbx, 0x600DF00D, "the program area returns with the stack balanced"
    ret

    [section .data]
    align 8
    db "KVMUFUZZ"
    dq fuzz_code, FUZZ_CODE_SIZE
    dq fuzz_results, FUZZ_RESULT_SIZE
    dq fuzz_scratch, 0x40000000
    dq fuzz_np - 64                 ; R15 of a faulting program: its cell ends at the page
    dq __exc_vector, __exc_error, __exc_cr2, __exc_resume, __exc_armed   ; idt.inc TRY state
    [section .text]

    align 16
fuzz_code:
    ret
    times FUZZ_CODE_SIZE - 1 db 0xCC

    [section .bss]
    alignb 64
fuzz_results:   resb FUZZ_RESULT_SIZE
fuzz_scratch:   resb 64
    alignb 4096
fuzz_edge:      resb 4096
fuzz_np:        resb 4096

; RFLAGS at a fault taken in the middle of straight-line code is that of the instructions
; before the faulting one, even when an instruction after it would overwrite every
; arithmetic flag.  SDM Vol. 3A 6.6: a fault is reported with the state before the faulting
; instruction, so the RFLAGS image the handler gets (and IRET restores) holds the flags of
; the instruction just before it.
;
; What it catches: an emulator or binary translator that skips computing flags it believes
; dead (the next flag writer overwrites them) without seeing that a memory access, a DIV or
; a read-modify-write in between can fault first: the #PF/#DE then shows the flags of an
; older instruction.  Each case sets ZF|PF first, runs one flag writer whose flags differ
; (SF OF AF PF after 7FFFFFFFH + 1, and so on), then an instruction that faults, then one
; that overwrites all six flags (never reached).
%include "payload.inc"
PAYLOAD flags_at_fault, emulator, long64, "RFLAGS at a #PF/#DE in straight-line code: the flags of the instruction before it"
%define NP_PAGE 0x50002000          ; not present

payload_main:
    MAP_4K NP_PAGE, 0
    mov r8, NP_PAGE + 0x40
    mov r9d, 3

    ; ADD r32, r32 then a load that faults, then CMP.
    mov ecx, 0x7FFFFFFF
    mov edx, 1
    xor r10d, r10d                      ; ZF PF
    TRY
    add ecx, edx                        ; 80000000H: SF OF AF PF (CF ZF clear)
    mov eax, [r8]
    cmp eax, r9d
    CATCH VEC_PF, 0, "load #PF after ADD"
    CHECK_FLAGS FL_ARITH, FL_SF | FL_OF | FL_AF | FL_PF, "flags at the load's #PF are ADD's"
    CHECK_EQ rcx, 0x80000000, "ADD's result before the #PF"

    ; SUB r64, imm then a store that faults, then TEST.
    mov rcx, 5
    xor r10d, r10d
    TRY
    sub rcx, 6                          ; -1: SF CF AF PF
    mov [r8], rax
    test eax, eax
    CATCH VEC_PF, PF_W, "store #PF after SUB"
    CHECK_FLAGS FL_ARITH, FL_SF | FL_CF | FL_AF | FL_PF, "flags at the store's #PF are SUB's"
    CHECK_EQ rcx, -1, "SUB's result before the #PF"

    ; The overwriting instruction itself faults: ADD r/m32, r32 on the absent page.
    mov ecx, 0x7FFFFFFF
    xor r10d, r10d
    TRY
    add ecx, 1                          ; SF OF AF PF
    add [r8], ecx                       ; #PF(W) before it writes anything
    CATCH VEC_PF, PF_W, "RMW #PF after ADD"
    CHECK_FLAGS FL_ARITH, FL_SF | FL_OF | FL_AF | FL_PF, "flags at the RMW's #PF are the ADD's before it"

    ; INC keeps CF and writes the other five; then a load that faults, then XOR.
    stc
    mov ecx, 0x7FFFFFFF
    TRY
    inc ecx                             ; SF OF AF PF, CF kept
    mov eax, [r8]
    xor eax, eax
    CATCH VEC_PF, 0, "load #PF after INC"
    CHECK_FLAGS FL_ARITH, FL_CF | FL_SF | FL_OF | FL_AF | FL_PF, "flags at the #PF are INC's (CF kept)"

    ; IMUL r32, r/m32, imm then a load that faults, then AND.
    mov edx, 0x40000000
    xor r10d, r10d
    TRY
    imul ecx, edx, 4                    ; overflow: CF OF
    mov eax, [r8]
    and eax, 1
    CATCH VEC_PF, 0, "load #PF after IMUL"
    CHECK_FLAGS FL_CF | FL_OF, FL_CF | FL_OF, "CF and OF at the #PF are IMUL's"
    CHECK_EQ rcx, 0, "IMUL's result before the #PF"

    ; SHL r32, imm then a load that faults, then OR.
    mov ecx, 0xC0000001
    xor r10d, r10d
    TRY
    shl ecx, 1                          ; 80000002H: CF SF (OF = CF ^ SF = 0; PF: 02H is odd)
    mov eax, [r8]
    or eax, eax
    CATCH VEC_PF, 0, "load #PF after SHL"
    CHECK_FLAGS FL_CF | FL_PF | FL_SF | FL_ZF | FL_OF, FL_CF | FL_SF, "CF PF SF ZF OF at the #PF are SHL's"

    ; SUB then DIV by zero (#DE), then CMP.
    mov ecx, 1
    xor ebx, ebx
    xor r10d, r10d
    TRY
    sub ecx, 2                          ; -1: SF CF AF PF
    div ebx
    cmp ecx, ecx
    CATCH VEC_DE, "DIV #DE after SUB"
    CHECK_FLAGS FL_ARITH, FL_SF | FL_CF | FL_AF | FL_PF, "flags at the #DE are SUB's"

    ; No fault: the flag writers' results in a run of register code, the last flags live.
    mov eax, 0x12345678
    mov ecx, 0x0FEDCBA9
    add eax, ecx                        ; 22222221H
    sub ecx, 0x100                      ; 0FEDCAA9H
    imul edx, eax, 3                    ; 66666663H
    shl eax, 4                          ; 22222210H
    inc ecx                             ; 0FEDCAAAH
    xor edx, ecx                        ; 66666663H ^ 0FEDCAAAH = 698BACC9H
    CHECK_FLAGS FL_ARITH, FL_PF, "flags of the last XOR (C9H: even parity)"
    CHECK_EQ rax, 0x22222210, "ADD then SHL"
    CHECK_EQ rcx, 0x0FEDCAAA, "SUB then INC"
    CHECK_EQ rdx, 0x698BACC9, "IMUL then XOR"
    PAYLOAD_DONE

; BT/BTS/BTR/BTC/BSF/BSR.  SDM Vol. 2: BTx copy the selected bit to CF (ZF
; unchanged; OF SF AF PF undefined); with a register bit offset and a memory
; operand the offset addresses beyond the operand (bit string).  BSF/BSR set ZF
; iff the source is 0 (then the destination is undefined) and give the index of
; the lowest/highest set bit.
%define PL_RFLAGS_UNDEF (FL_OF | FL_SF | FL_AF | FL_PF | FL_CF)
%include "payload.inc"
PAYLOAD bit_ops, emulator, long64, "BT/BTS/BTR/BTC (reg and bit-string memory), BSF/BSR"
payload_main:
    mov eax, 0x10
    bt eax, 4
    CHECK_FLAGS FL_CF, FL_CF, "bt bit 4 set"
    bt eax, 3
    CHECK_FLAGS FL_CF, 0, "bt bit 3 clear"
    bts eax, 0
    CHECK_FLAGS FL_CF, 0, "bts old bit 0 = 0"
    CHECK_EQ rax, 0x11, "bts sets bit 0"
    btr eax, 4
    CHECK_FLAGS FL_CF, FL_CF, "btr old bit 4 = 1"
    CHECK_EQ rax, 0x1, "btr clears bit 4"
    btc eax, 0
    CHECK_FLAGS FL_CF, FL_CF, "btc old bit 0 = 1"
    CHECK_EQ rax, 0, "btc complements bit 0"
    xor eax, eax                    ; ZF = 1
    bt eax, 1
    CHECK_FLAGS FL_ZF, FL_ZF, "bt leaves ZF unchanged"
    mov ecx, 35
    bt dword [bitstr], ecx            ; bit 35 = bit 3 of the second dword
    CHECK_FLAGS FL_CF, FL_CF, "bt [mem], 35 reads beyond the dword"
    mov ecx, 70
    bts dword [bitstr], ecx           ; bit 70 = bit 6 of the third dword
    CHECK_FLAGS FL_CF, 0, "bts [mem], 70 old bit 0"
    mov eax, [bitstr + 8]
    CHECK_EQ rax, 0x40, "bts [mem], 70 set bit 6 of bitstr+8"
    mov rcx, -1
    btr qword [bitstr + 8], rcx       ; bit -1 = bit 63 of the qword before
    CHECK_FLAGS FL_CF, FL_CF, "btr [mem], -1 clears bit 63 of the previous qword"
    mov eax, [bitstr + 4]
    CHECK_EQ rax, 0x00000008, "bit 63 of bitstr+0 cleared"
    mov eax, 0x00F00000
    bsf ecx, eax
    CHECK_FLAGS FL_ZF, 0, "bsf non-zero: ZF = 0"
    CHECK_EQ rcx, 20, "bsf 0x00F00000"
    bsr ecx, eax
    CHECK_EQ rcx, 23, "bsr 0x00F00000"
    xor eax, eax
    bsf ecx, eax
    CHECK_FLAGS FL_ZF, FL_ZF, "bsf zero source: ZF = 1"
    PAYLOAD_DONE
    align 8
bitstr: dd 0, 0x80000008, 0, 0

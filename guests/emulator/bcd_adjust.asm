; DAA/DAS/AAA/AAS/AAM/AAD against the pseudo-code of SDM Vol. 2A (each instruction's
; "Operation" section); the six are invalid in 64-bit mode, so this runs in prot32.
; Each case starts from a known EAX and RFLAGS and checks all of EAX (the upper half
; must survive) and only the flags the SDM defines:
;   AAA/AAS: AF and CF (OF SF ZF PF undefined)
;   DAA/DAS: CF AF SF ZF PF (OF undefined)
;   AAM/AAD: SF ZF PF "according to the resulting binary value in the AL register"
;   (not AX or EAX: an emulator that sets them from the whole operand gets SF from
;   bit 31 and ZF from EAX); OF AF CF undefined; AAM with imm8 = 0 raises #DE.
; AAS: "AX := AX - 6; AH := AH - 1": the borrow out of AL reaches AH before the
; decrement, so AX=0103H with AF=1 gives FF0DH (a port that only decrements AH gets 000DH).
; AAA: "AX := AX + 106H": the carry out of AL reaches AH (00FAH gives 0200H).
; DAS, AAM and AAD come first: KVM's instruction emulator has them (Linux 6.1
; emulate.c em_das, em_aam, em_aad) but not AAS/AAA/DAA, so a KVM that emulates
; CPL0 code checks those before it stops.
%define PL_RFLAGS_UNDEF FL_ARITH
%include "payload.inc"
PAYLOAD bcd_adjust, emulator, prot32, "DAA/DAS/AAA/AAS/AAM/AAD results, defined flags, AAM 0 #DE"

%define F_CAZSP (FL_CF | FL_AF | FL_ZF | FL_SF | FL_PF)
%define F_CA (FL_CF | FL_AF)
%define F_ZSP (FL_ZF | FL_SF | FL_PF)

; SETF value: RFLAGS := value | 2
%macro SETF 1
    push dword (%1) | 2
    popfd
%endmacro

payload_main:
    ; ---- DAS ----
    mov eax, 0x00000005
    SETF FL_AF
    das
    CHECK_EQ eax, 0x000000FF, "DAS AL=05 AF=1: -06 -> FF"
    CHECK_FLAGS F_CAZSP, FL_CF | FL_AF | FL_SF | FL_PF, "DAS AL=05 AF=1: CF from the borrow of AL-6"
    mov eax, 0x0000009A
    SETF 0
    das
    CHECK_EQ eax, 0x00000034, "DAS AL=9A: -06 then -60 -> 34"
    CHECK_FLAGS F_CAZSP, FL_CF | FL_AF, "DAS AL=9A: CF AF set, 34H odd parity"
    mov eax, 0x00000042
    SETF 0
    das
    CHECK_EQ eax, 0x00000042, "DAS AL=42 valid BCD: unchanged"
    CHECK_FLAGS F_CAZSP, FL_PF, "DAS AL=42: CF AF ZF SF clear, PF set (42H even parity)"
    mov eax, 0x00000000
    SETF FL_CF
    das
    CHECK_EQ eax, 0x000000A0, "DAS AL=00 CF=1: -60 -> A0"
    CHECK_FLAGS F_CAZSP, FL_CF | FL_SF | FL_PF, "DAS AL=00 CF=1: CF SF PF set, AF clear"
    ; ---- AAM ----
    mov eax, 0x1234FF4F
    SETF 0
    aam                             ; D4 0A
    CHECK_EQ eax, 0x12340709, "AAM AL=4F (79): AH=7 AL=9, upper EAX kept"
    CHECK_FLAGS F_ZSP, FL_PF, "AAM -> AL=09: ZF SF clear, PF set"
    mov eax, 0x000000FF
    SETF 0
    db 0xD4, 0x10                   ; AAM 16
    CHECK_EQ eax, 0x00000F0F, "AAM 16 AL=FF: AH=0F AL=0F"
    mov eax, 0x00000000
    SETF 0
    aam
    CHECK_EQ eax, 0x00000000, "AAM AL=0: AX=0"
    CHECK_FLAGS F_ZSP, FL_ZF | FL_PF, "AAM result 0: ZF PF set"
    mov eax, 0x12340050
    SETF 0
    aam
    CHECK_EQ eax, 0x12340800, "AAM AL=50 (80): AH=8 AL=0"
    CHECK_FLAGS F_ZSP, FL_ZF | FL_PF, "AAM -> AL=0, AH=8: ZF PF from AL alone (set)"
    mov eax, 0x00001234
    TRY
aam0_insn:
    db 0xD4, 0x00                   ; AAM 0
    CATCH VEC_DE, "AAM with imm8=0 raises #DE"
    CHECK_EQ [__exc_rip], aam0_insn, "#DE is a fault: saved EIP = the AAM"
    CHECK_EQ eax, 0x00001234, "AAM 0 leaves AX unchanged"
    ; ---- AAD ----
    mov eax, 0x12340709
    SETF FL_ZF | FL_SF
    aad                             ; D5 0A
    CHECK_EQ eax, 0x1234004F, "AAD AX=0709: AL=79, AH=0, upper EAX kept"
    CHECK_FLAGS F_ZSP, 0, "AAD -> 4F: ZF SF clear, PF clear (odd)"
    mov eax, 0x00000F0F
    SETF 0
    db 0xD5, 0x10                   ; AAD 16
    CHECK_EQ eax, 0x000000FF, "AAD 16 AX=0F0F: AL=FF"
    CHECK_FLAGS F_ZSP, FL_SF | FL_PF, "AAD -> FF: SF PF set"
    mov eax, 0x00001A05
    SETF 0
    aad
    CHECK_EQ eax, 0x00000009, "AAD AX=1A05: 26*10+5 = 109H, only the low byte kept"
    mov eax, 0x80001000
    SETF FL_SF
    db 0xD5, 0x10                   ; AAD 16: 10H*10H = 100H
    CHECK_EQ eax, 0x80000000, "AAD 16 AX=1000: AL=00 AH=00, EAX[31:16] kept"
    CHECK_FLAGS F_ZSP, FL_ZF | FL_PF, "AAD -> AL=0 with EAX bit 31 set: ZF PF set, SF clear (AL alone)"
    ; ---- AAS ----
    mov eax, 0x12340103
    SETF FL_AF
    aas
    CHECK_EQ eax, 0x1234FF0D, "AAS AX=0103 AF=1: AX-6 borrows from AH, then AH-1 (FF0D)"
    CHECK_FLAGS F_CA, F_CA, "AAS adjusting: CF=AF=1"
    mov eax, 0x0000020A
    SETF 0
    aas
    CHECK_EQ eax, 0x00000104, "AAS AL low nibble A (AF=0): 020A -> 0104"
    CHECK_FLAGS F_CA, F_CA, "AAS low nibble > 9: CF=AF=1"
    mov eax, 0x00000005
    SETF FL_AF
    aas
    CHECK_EQ eax, 0x0000FE0F, "AAS AX=0005 AF=1: AX-6=FFFF, AH-1 -> FE0F"
    mov eax, 0x00000139
    SETF FL_CF                      ; CF is not an input of AAS
    aas
    CHECK_EQ eax, 0x00000109, "AAS no adjust: AL := AL AND 0FH only"
    CHECK_FLAGS F_CA, 0, "AAS no adjust: CF=AF=0"
    ; ---- AAA ----
    mov eax, 0x000000FA
    SETF 0
    aaa
    CHECK_EQ eax, 0x00000200, "AAA AX=00FA: AX+106H carries into AH -> 0200"
    CHECK_FLAGS F_CA, F_CA, "AAA adjusting: CF=AF=1"
    mov eax, 0x56780100
    SETF FL_AF
    aaa
    CHECK_EQ eax, 0x56780206, "AAA AX=0100 AF=1 -> 0206, upper EAX kept"
    mov eax, 0x00000139
    SETF FL_CF
    aaa
    CHECK_EQ eax, 0x00000109, "AAA no adjust: AL AND 0FH"
    CHECK_FLAGS F_CA, 0, "AAA no adjust: CF=AF=0"
    ; ---- DAA ----
    mov eax, 0x0000559A
    SETF 0
    daa
    CHECK_EQ eax, 0x00005500, "DAA AL=9A: +06 then +60 -> 00, AH untouched"
    CHECK_FLAGS F_CAZSP, FL_CF | FL_AF | FL_ZF | FL_PF, "DAA AL=9A: CF AF ZF PF set, SF clear"
    mov eax, 0x00000015
    SETF 0
    daa
    CHECK_EQ eax, 0x00000015, "DAA AL=15 valid BCD: unchanged"
    CHECK_FLAGS F_CAZSP, 0, "DAA AL=15: CF AF ZF SF PF all clear (15H has odd parity)"
    mov eax, 0x0000000F
    SETF FL_CF
    daa
    CHECK_EQ eax, 0x00000075, "DAA AL=0F CF=1: +06 (AF) and +60 (old CF) -> 75"
    CHECK_FLAGS F_CAZSP, FL_CF | FL_AF, "DAA AL=0F CF=1: CF AF set, 75H odd parity"
    mov eax, 0x00000099
    SETF FL_AF
    daa
    CHECK_EQ eax, 0x0000009F, "DAA AL=99 AF=1: +06 only (old AL not > 99H) -> 9F"
    CHECK_FLAGS F_CAZSP, FL_AF | FL_SF | FL_PF, "DAA AL=99 AF=1: CF clear, AF SF PF set"
    PAYLOAD_DONE

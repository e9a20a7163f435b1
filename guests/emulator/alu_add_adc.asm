; ADD / ADC flags.  SDM Vol. 2 ADD, ADC: OF, SF, ZF, AF, CF, PF are set
; according to the result (all six defined).  ADC adds CF as well.
%include "payload.inc"
PAYLOAD alu_add_adc, emulator, long64, "ADD/ADC results and all six arithmetic flags"
payload_main:
    mov rax, 0x7FFFFFFFFFFFFFFF
    add rax, 1                      ; signed overflow, low nibble F+1 carries
    CHECK_EQ rax, 0x8000000000000000, "add rax: 0x7FFF..F + 1"
    CHECK_FLAGS FL_ARITH, FL_OF | FL_SF | FL_AF | FL_PF, "add rax: OF SF AF PF"
    mov eax, 0xFFFFFFFF
    add eax, 1                      ; unsigned wrap to 0
    CHECK_EQ rax, 0, "add eax: 0xFFFFFFFF + 1 = 0 (upper half cleared)"
    CHECK_FLAGS FL_ARITH, FL_CF | FL_ZF | FL_AF | FL_PF, "add eax: CF ZF AF PF"
    mov bl, 0x80
    add bl, 0x80                    ; -128 + -128: OF and CF, no AF
    movzx ebx, bl
    CHECK_EQ rbx, 0, "add bl: 0x80 + 0x80 = 0"
    mov bl, 0x80
    add bl, 0x80
    CHECK_FLAGS FL_ARITH, FL_OF | FL_CF | FL_ZF | FL_PF, "add bl: OF CF ZF PF"
    stc
    mov eax, 5
    adc eax, 7                      ; 5 + 7 + 1 = 13 = 0b1101 (odd parity)
    CHECK_EQ rax, 13, "adc with CF=1: 5 + 7 + 1"
    CHECK_FLAGS FL_ARITH, 0, "adc 5+7+1: no flags"
    stc
    mov al, 0xFF
    adc al, 0                       ; 0xFF + 0 + 1 carries out of bit 7 and bit 3
    CHECK_FLAGS FL_ARITH, FL_CF | FL_ZF | FL_AF | FL_PF, "adc al 0xFF+0+CF: CF ZF AF PF"
    movzx eax, al
    CHECK_EQ rax, 0, "adc al result 0"
    mov word [mem], 0xFFFF
    add word [mem], 2               ; memory destination, 16-bit
    CHECK_FLAGS FL_ARITH, FL_CF | FL_AF, "add word [mem]: 0xFFFF + 2: CF AF (0x0001 odd)"
    movzx eax, word [mem]
    CHECK_EQ rax, 1, "add word [mem] result"
    PAYLOAD_DONE
    align 8
mem: dq 0

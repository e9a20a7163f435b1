; Bit-string instructions on MMIO.  SDM Vol. 2 BT/BTS/BTR: with a register bit
; offset the memory operand address is base + (offset SAR 3) (operand-size
; aligned), so the access may land far from the base; on a `ram` window each is
; an MMIO read-modify-write through KVM's emulator with the same CF result.
%define PL_WINDOW0 0x40000000, 0x1000, WIN_RAM, 0x00
%define PL_RFLAGS_UNDEF (FL_OF | FL_SF | FL_AF | FL_PF)
%include "payload.inc"
PAYLOAD mmio_bitstring, emulator, long64, "BTS/BTR/BT with register bit offsets on a ram MMIO window"
payload_main:
    mov ebx, 0x40000000
    mov ecx, 8 * 0x100 + 5          ; bit 5 of byte 0x100
    bts dword [rbx], ecx
    CHECK_FLAGS FL_CF, 0, "bts: old bit clear"
    mov eax, [rbx + 0x100]
    CHECK_EQ rax, 0x20, "bts set bit 5 at window + 0x100"
    bt dword [rbx], ecx
    CHECK_FLAGS FL_CF, FL_CF, "bt reads it back"
    mov rcx, -1                     ; bit 63 of the qword before window + 0x108
    lea rdx, [rbx + 0x108]
    bts qword [rdx], rcx
    mov rax, [rbx + 0x100]
    CHECK_EQ rax, 0x8000000000000020, "bts qword with offset -1 set bit 63 of the previous qword"
    mov ecx, 8 * 0x100 + 5
    btr dword [rbx], ecx
    CHECK_FLAGS FL_CF, FL_CF, "btr: old bit set"
    mov eax, [rbx + 0x100]
    CHECK_EQ rax, 0, "btr cleared it"
    PAYLOAD_DONE

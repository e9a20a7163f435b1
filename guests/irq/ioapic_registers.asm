; Every IOAPIC register through IOREGSEL/IOWIN, including ones that do not exist.  Linux 6.1
; ioapic.c ioapic_read_indirect: VERSION (1) = (pins - 1) << 16 | 0x11 with 24 pins; ID (0)
; and ARB (2) = id << 24; a redirection entry (0x10 + 2n low, 0x11 + 2n high) reads back
; what was written (reset: masked, 0x00010000); any other index, below 0x10 or past pin 23,
; reads all ones, and a write there changes nothing.  The illumos port crashed the host on
; reads of nonexistent pins (HVM-770); a port that wraps the index reads another pin.
%define PL_FLAGS PL_F_IRQCHIP
%include "payload.inc"
PAYLOAD ioapic_registers, irq, long64, "IOAPIC: version, ID, redirection entries, and all ones for nonexistent registers"
payload_main:
    mov r12d, IOAPIC_BASE
    mov dword [r12], 1
    mov eax, [r12 + 0x10]
    CHECK_EQ eax, (23 << 16) | 0x11, "VERSION: 24 pins (max entry 23), version 0x11"
    mov dword [r12], 0
    mov eax, [r12 + 0x10]
    CHECK_MASK eax, 0x00FFFFFF, 0, "ID: only bits 27:24 can be set"
    ; Every pin: reset value masked, and a pattern written to pin n reads back from pin n only.
    xor ecx, ecx
    xor ebx, ebx                        ; mismatches
.pins:
    lea edx, [0x10 + ecx * 2]
    mov [r12], edx
    mov eax, [r12 + 0x10]
    cmp eax, 0x00010000
    je .reset_ok
    inc ebx
.reset_ok:
    lea eax, [ecx + 0x30]               ; vector 0x30 + n, still masked
    or eax, 0x00010000
    mov [r12 + 0x10], eax
    inc edx
    mov [r12], edx
    mov eax, ecx
    shl eax, 24                         ; destination n in the high half
    mov [r12 + 0x10], eax
    inc ecx
    cmp ecx, 24
    jb .pins
    CHECK_EQ ebx, 0, "every pin's redirection entry reads masked after reset"
    xor ecx, ecx
    xor ebx, ebx
.verify:
    lea edx, [0x10 + ecx * 2]
    mov [r12], edx
    mov eax, [r12 + 0x10]
    lea esi, [ecx + 0x30]
    or esi, 0x00010000
    cmp eax, esi
    je .lo_ok
    inc ebx
.lo_ok:
    inc edx
    mov [r12], edx
    mov eax, [r12 + 0x10]
    mov esi, ecx
    shl esi, 24
    cmp eax, esi
    je .hi_ok
    inc ebx
.hi_ok:
    inc ecx
    cmp ecx, 24
    jb .verify
    CHECK_EQ ebx, 0, "each of the 24 pins reads back its own pattern"
    ; Nonexistent registers: 0x03..0x0F and 0x40..0xFF read all ones.
    mov ecx, 3
    xor ebx, ebx
.holes:
    cmp ecx, 0x10
    jne .probe
    mov ecx, 0x40                       ; skip the 24 pins
.probe:
    mov [r12], ecx
    mov eax, [r12 + 0x10]
    cmp eax, 0xFFFFFFFF
    je .hole_ok
    inc ebx
.hole_ok:
    inc ecx
    cmp ecx, 0x100
    jb .holes
    CHECK_EQ ebx, 0, "registers 0x03-0x0F and 0x40-0xFF (no such pin) read all ones"
    ; A write to a nonexistent pin changes no real one (pin 23 keeps its pattern).
    mov dword [r12], 0x40
    mov dword [r12 + 0x10], 0x12345678
    mov dword [r12], 0x10 + 2 * 23
    mov eax, [r12 + 0x10]
    CHECK_EQ eax, 0x00010000 | (0x30 + 23), "a write to index 0x40 leaves pin 23 alone"
    mov dword [r12], 0x10
    mov eax, [r12 + 0x10]
    CHECK_EQ eax, 0x00010000 | 0x30, "and pin 0"
    PAYLOAD_DONE

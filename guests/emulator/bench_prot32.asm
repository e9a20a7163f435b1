; Benchmark loop of `kvm-unit bench ref`: 32-bit protected-mode code at CPL0 (loads,
; stores, PUSH/POP, CALL/RET, MOVZX and a SIB-indexed read-modify-write), 17 instructions
; per iteration.
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M32 = 2**32-1):
;   c = [0x11111111, 0, 0]; tab = [0] * 256
;   for ecx in range(20000, 0, -1):
;       eax = (c[0] + ecx) & M32; c[1] = eax
;       edx = rol32((eax + c[1]) & M32, 13); c[2] = edx
;       ebx = eax ^ edx; tab[ebx & 0xFF] = (tab[ebx & 0xFF] + ebx) & M32; c[0] = ebx
;   checksum = (c[0] + c[1] + c[2] + sum(tab)) & M32   # = 0x8175779B
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_prot32, emulator, prot32, "bench: 32-bit protected-mode load/store/call loop at CPL0"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 20000
                    dq 17
                    dq 20000
payload_main:
    mov esi, p32_cells
    mov dword [esi], 0x11111111
    mov ecx, [bench_iterations]
    test ecx, ecx
    jz .done
.loop:
    mov eax, [esi]                      ; 1
    add eax, ecx                        ; 2
    mov [esi + 4], eax                  ; 3
    push eax                            ; 4
    call mix32                          ; 5 (mix32 is 6..10)
    pop ebx                             ; 11
    xor ebx, [esi + 8]                  ; 12
    movzx edi, bl                       ; 13
    add [esi + edi*4 + 16], ebx         ; 14
    mov [esi], ebx                      ; 15
    dec ecx                             ; 16
    jnz .loop                           ; 17
.done:
    mov eax, [esi]
    add eax, [esi + 4]
    add eax, [esi + 8]
    xor ecx, ecx
.sum:
    add eax, [esi + ecx*4 + 16]
    inc ecx
    cmp ecx, 256
    jb .sum
    CHECK_EQ eax, 0x8175779B, "32-bit loop checksum (Python model of 20000 iterations)"
    PAYLOAD_DONE
mix32:
    mov edx, [esp + 4]                  ; 6
    add edx, [esi + 4]                  ; 7
    rol edx, 13                         ; 8
    mov [esi + 8], edx                  ; 9
    ret                                 ; 10

    [section .bss]
    alignb 64
p32_cells: resd 4 + 256

; Benchmark loop of `kvm-unit bench ref`: ALU in all four widths with immediates, MOVZX
; and three-operand IMUL at CPL3, 16 instructions per iteration. Partial-register writes
; (AL, AH, BX, R9W, R9B keep the rest; 32-bit writes zero bits 63:32, SDM Vol. 1 3.4.1.1).
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M = 2**64-1, M32 = 2**32-1):
;   rax, rbx, rdx, rsi, rdi, r8, r9 = 0x1122334455667788, 0x99AABBCCDDEEFF00, 0, 0, 0, 0x0F0F0F0F0F0F0F0F, 0x123456789ABCDEF0
;   for rcx in range(250000, 0, -1):
;       al = (rax + 0x35) & 0xFF; rax = rax & ~0xFF | al
;       ah = (rax >> 8 & 0xFF) ^ al; rax = rax & ~0xFF00 | ah << 8
;       bx = (rbx + 0x1234) & 0xFFFF; bx = (bx - (rax & 0xFFFF)) & 0xFFFF; rbx = rbx & ~0xFFFF | bx
;       rdx = ((rbx & M32) * 0x9E37 + (rcx & M32)) & M32   # 32-bit IMUL then ADD, zero-extended
;       rsi = rdx & 0xFF; rdi = rdx & 0xFFFF
;       r8 = ((r8 + rsi) & M32) ^ 0x5A5A5A5A
;       r9 = (r9 | rdi) - 0x77 & M; r9 = r9 & ~0x10          # OR r9w, SUB r9, AND r9b,0xEF
;       rbx = (rbx + r9) & M
;   checksum = ((rax ^ rbx ^ rdx) + rsi + rdi + r8 + r9) & M   # = 0x8419754905B20E2E
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_alu_widths, emulator, user64, "bench: 8/16/32/64-bit ALU with immediates, MOVZX, IMUL at CPL3"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 250000
                    dq 16
                    dq 250000
payload_main:
    mov rax, 0x1122334455667788
    mov rbx, 0x99AABBCCDDEEFF00
    xor edx, edx
    xor esi, esi
    xor edi, edi
    mov r8, 0x0F0F0F0F0F0F0F0F
    mov r9, 0x123456789ABCDEF0
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    add al, 0x35                        ; 1
    xor ah, al                          ; 2
    add bx, 0x1234                      ; 3
    sub bx, ax                          ; 4
    imul edx, ebx, 0x9E37               ; 5
    add edx, ecx                        ; 6
    movzx esi, dl                       ; 7
    movzx edi, dx                       ; 8
    add r8, rsi                         ; 9
    xor r8d, 0x5A5A5A5A                 ; 10
    or r9w, di                          ; 11
    sub r9, 0x77                        ; 12
    and r9b, 0xEF                       ; 13
    add rbx, r9                         ; 14
    dec ecx                             ; 15
    jnz .loop                           ; 16
.done:
    xor rax, rbx
    xor rax, rdx
    add rax, rsi
    add rax, rdi
    add rax, r8
    add rax, r9
    CHECK_EQ rax, 0x8419754905B20E2E, "ALU widths checksum (Python model of 250000 iterations)"
    PAYLOAD_DONE

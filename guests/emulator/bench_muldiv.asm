; Benchmark loop of `kvm-unit bench ref`: 64-bit MUL and DIV, 32-bit CDQ/IDIV and
; three-operand IMUL at CPL3, 17 instructions per iteration. DIV never faults (RDX = 0,
; divisor 0x1234567); IDIV's divisor is the positive loop counter.
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M = 2**64-1; IDIV
; truncates toward zero, the remainder has the dividend's sign, SDM Vol. 2A IDIV):
;   r8, r9, r10, r11 = 0x0123456789ABCDEF, 0xFEDCBA9876543211, 0x5555, 0x1234567
;   for rcx in range(200000, 0, -1):
;       p = r8 * r9; r10 = ((r10 + (p >> 64)) & M) ^ (p & M)
;       r8 = (r8 + r10 // r11) & M; r9 = (r9 + r10 % r11) & M
;       a = signed32(r10 & 0xFFFFFFFF); q = trunc(a / rcx); rem = a - q * rcx
;       r8 = (r8 + (q & 0xFFFFFFFF)) & M; r9 ^= ((rem & 0xFFFFFFFF) * 0x3B) & M
;   checksum = ((r8 ^ r9) + r10) & M        # = 0xE22BE497DB536EEB
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_muldiv, emulator, user64, "bench: MUL/DIV/IDIV/IMUL loop at CPL3"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 200000
                    dq 17
                    dq 200000
payload_main:
    mov r8, 0x0123456789ABCDEF
    mov r9, 0xFEDCBA9876543211
    mov r10d, 0x5555
    mov r11d, 0x1234567
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    mov rax, r8                         ; 1
    mul r9                              ; 2
    add r10, rdx                        ; 3
    xor r10, rax                        ; 4
    mov rax, r10                        ; 5
    xor edx, edx                        ; 6
    div r11                             ; 7
    add r8, rax                         ; 8
    add r9, rdx                         ; 9
    mov eax, r10d                       ; 10
    cdq                                 ; 11
    idiv ecx                            ; 12
    add r8, rax                         ; 13
    imul rdx, rdx, 0x3B                 ; 14
    xor r9, rdx                         ; 15
    dec rcx                             ; 16
    jnz .loop                           ; 17
.done:
    mov rax, r8
    xor rax, r9
    add rax, r10
    CHECK_EQ rax, 0xE22BE497DB536EEB, "MUL/DIV checksum (Python model of 200000 iterations)"
    PAYLOAD_DONE

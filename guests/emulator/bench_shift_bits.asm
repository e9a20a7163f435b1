; Benchmark loop of `kvm-unit bench ref`: shifts, rotates (by imm, by CL, through CF)
; and bit instructions (BT, BTC, BSF, SHLD) on an xorshift64 stream at CPL3, 20
; instructions per iteration.
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M = 2**64-1,
; rol(x, c, w) rotates a w-bit value left by c mod w):
;   rbx, r8, r9, r10, r11 = 0x9E3779B97F4A7C15, 0x0123456789ABCDEF, 0, 0, 0x7777
;   for rcx in range(200000, 0, -1):
;       rbx ^= rbx << 13 & M; rbx ^= rbx >> 7; rbx ^= rbx << 17 & M
;       r8 = rol(r8, rcx & 63, 64) ^ rbx
;       r9 = (r9 << 1 | (rbx >> (rcx & 63) & 1)) & M                 # BT then RCL 1
;       rdx = index of the lowest set bit of rbx                      # BSF
;       r10 ^= 1 << rdx; r10 = (r10 << 9 | r8 >> 55) & M              # BTC, SHLD 9
;       r11 = (r11 & ~0xFFFF | rol(r11 & 0xFFFF, 13, 16)) + rdx & M   # ROR r11w,3; ADD
;   checksum = (rbx + r8 + r9 + r10 + r11) & M   # = 0x825F231CDCF5C436
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_shift_bits, emulator, user64, "bench: shifts, rotates and bit instructions at CPL3"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 200000
                    dq 20
                    dq 200000
payload_main:
    mov rbx, 0x9E3779B97F4A7C15
    mov r8, 0x0123456789ABCDEF
    xor r9d, r9d
    xor r10d, r10d
    mov r11d, 0x7777
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    mov rax, rbx                        ; 1
    shl rax, 13                         ; 2
    xor rbx, rax                        ; 3
    mov rax, rbx                        ; 4
    shr rax, 7                          ; 5
    xor rbx, rax                        ; 6
    mov rax, rbx                        ; 7
    shl rax, 17                         ; 8
    xor rbx, rax                        ; 9
    rol r8, cl                          ; 10
    xor r8, rbx                         ; 11
    bt rbx, rcx                         ; 12
    rcl r9, 1                           ; 13
    bsf rdx, rbx                        ; 14
    btc r10, rdx                        ; 15
    shld r10, r8, 9                     ; 16
    ror r11w, 3                         ; 17
    add r11, rdx                        ; 18
    dec rcx                             ; 19
    jnz .loop                           ; 20
.done:
    mov rax, rbx
    add rax, r8
    add rax, r9
    add rax, r10
    add rax, r11
    CHECK_EQ rax, 0x825F231CDCF5C436, "shift/bit checksum (Python model of 200000 iterations)"
    PAYLOAD_DONE

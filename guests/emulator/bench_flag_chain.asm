; Benchmark loop of `kvm-unit bench ref`: flag producers and consumers in a chain
; (ADD/ADC/SBB carries, SETcc, CMOVcc on CF, SF and SF=OF) at CPL3, 12 instructions per
; iteration; a lazy-flags bug or a wrong condition shows in the checksum.
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M = 2**64-1,
; s(x) = x as signed 64-bit):
;   rax, rbx, rdx, rsi, rdi, r8, r9, r10 = 0xDEADBEEFCAFEF00D, 0x8000000000000001, 0x7FFFFFFFFFFFFFFF, 0, 0, 0, 0, 0
;   for rcx in range(300000, 0, -1):
;       r = rax + rcx; cf = r >> 64; rax = r & M
;       r = rbx + rax + cf; cf = r >> 64; rbx = r & M
;       r = rdx - rbx - cf; cf = int(r < 0); rdx = r & M
;       r8 = r8 & ~0xFF | cf
;       if rdx < rax: rsi = rdx
;       r9 = r9 & ~0xFF | int(s(rdx) >= s(rax))
;       r = r10 + r8; cf = r >> 64; r10 = (r + r9 + cf) & M
;       if r10 >> 63: rdi = rax
;   checksum = ((rax ^ rbx) + rdx + rsi + rdi + r8 + r9 + r10) & M   # = 0x7849EE758C590EA1
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_flag_chain, emulator, user64, "bench: ADC/SBB/SETcc/CMOVcc flag chain at CPL3"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 300000
                    dq 12
                    dq 300000
payload_main:
    mov rax, 0xDEADBEEFCAFEF00D
    mov rbx, 0x8000000000000001
    mov rdx, 0x7FFFFFFFFFFFFFFF
    xor esi, esi
    xor edi, edi
    xor r8d, r8d
    xor r9d, r9d
    xor r10d, r10d
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    add rax, rcx                        ; 1
    adc rbx, rax                        ; 2
    sbb rdx, rbx                        ; 3
    setc r8b                            ; 4
    cmp rdx, rax                        ; 5
    cmovb rsi, rdx                      ; 6
    setge r9b                           ; 7
    add r10, r8                         ; 8
    adc r10, r9                         ; 9
    cmovs rdi, rax                      ; 10
    dec rcx                             ; 11
    jnz .loop                           ; 12
.done:
    xor rax, rbx
    add rax, rdx
    add rax, rsi
    add rax, rdi
    add rax, r8
    add rax, r9
    add rax, r10
    CHECK_EQ rax, 0x7849EE758C590EA1, "flag chain checksum (Python model of 300000 iterations)"
    PAYLOAD_DONE

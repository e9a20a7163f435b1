; Benchmark loop of `kvm-unit bench ref`: branches on a data-dependent pattern (an LCG's
; top bits pick the paths of two Jcc and of an indirect JMP through a table) at CPL3,
; 19 instructions per iteration on every path.
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M = 2**64-1):
;   rax, rbx, rsi, rdi, r8 = 0x853C49E6748FEA9B, 0, 0, 0, 0
;   for rcx in range(200000, 0, -1):
;       rax = (rax * 6364136223846793005 + 1442695040888963407) & M
;       d = rax >> 60
;       if d & 1: rbx = (rbx + d) & M
;       else:     rbx = ((rbx - rax) & M) ^ 0x55
;       if d <= 9: rsi += 1
;       else:      rdi = ((rdi + d) & M) ^ M
;       k = rax & 3   # 0: r8 += 1; 1: r8 -= rax; 2: r8 ^= rcx; 3: r8 = rol(r8, 7)
;   checksum = (rbx + rsi + rdi + r8) & M    # = 0x60EDB0E729B16999
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_branchy, emulator, user64, "bench: data-dependent Jcc and indirect JMP at CPL3"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 200000
                    dq 19
                    dq 200000
payload_main:
    mov rax, 0x853C49E6748FEA9B
    mov r12, 6364136223846793005
    mov r13, 1442695040888963407
    xor ebx, ebx
    xor esi, esi
    xor edi, edi
    xor r8d, r8d
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    imul rax, r12                       ; 1
    add rax, r13                        ; 2
    mov rdx, rax                        ; 3
    shr rdx, 60                         ; 4
    test dl, 1                          ; 5
    jz .even                            ; 6
    add rbx, rdx                        ; 7
    jmp .next1                          ; 8
.even:
    sub rbx, rax                        ; 7
    xor rbx, 0x55                       ; 8
.next1:
    cmp dl, 9                           ; 9
    ja .high                            ; 10
    inc rsi                             ; 11
    jmp .next2                          ; 12
.high:
    add rdi, rdx                        ; 11
    not rdi                             ; 12
.next2:
    mov edx, eax                        ; 13
    and edx, 3                          ; 14
    jmp [jump_table + rdx*8]            ; 15
.t0:
    add r8, 1                           ; 16
    jmp .next3                          ; 17
.t1:
    sub r8, rax                         ; 16
    jmp .next3                          ; 17
.t2:
    xor r8, rcx                         ; 16
    jmp .next3                          ; 17
.t3:
    rol r8, 7                           ; 16
    jmp .next3                          ; 17
.next3:
    dec rcx                             ; 18
    jnz .loop                           ; 19
.done:
    mov rax, rbx
    add rax, rsi
    add rax, rdi
    add rax, r8
    CHECK_EQ rax, 0x60EDB0E729B16999, "branch pattern checksum (Python model of 200000 iterations)"
    PAYLOAD_DONE

    [section .data]
    align 8
jump_table: dq payload_main.t0, payload_main.t1, payload_main.t2, payload_main.t3

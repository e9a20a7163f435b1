; Benchmark loop of `kvm-unit bench ref`: SIB-indexed loads, stores, LEA and a
; read-modify-write over a 512-qword array at CPL3, 12 instructions per iteration.
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M = 2**64-1):
;   a = [0] * 512; ebx = 0; r8 = 0x0123456789ABCDEF
;   for rcx in range(300000, 0, -1):
;       eax = ebx & 511; a[eax] = (a[eax] + rcx) & M
;       edi = (eax * 3 + 7) & 511; r8 = (r8 + a[edi]) & M; a[edi] ^= r8
;       ebx = (ebx + edi + 1) & 0xFFFFFFFF
;   checksum = (r8 + sum(a)) & M            # = 0x757EF24CAF3DAFCE
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_sib_array, emulator, user64, "bench: SIB-indexed array loads, stores and RMW at CPL3"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 300000
                    dq 12
                    dq 300000
payload_main:
    mov rsi, array
    xor ebx, ebx
    mov r8, 0x0123456789ABCDEF
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    mov eax, ebx                        ; 1
    and eax, 511                        ; 2
    mov rdx, [rsi + rax*8]              ; 3
    add rdx, rcx                        ; 4
    mov [rsi + rax*8], rdx              ; 5
    lea edi, [rax + rax*2 + 7]          ; 6
    and edi, 511                        ; 7
    add r8, [rsi + rdi*8]               ; 8
    xor [rsi + rdi*8], r8               ; 9
    lea ebx, [rbx + rdi + 1]            ; 10
    dec rcx                             ; 11
    jnz .loop                           ; 12
.done:
    mov rax, r8
    xor ecx, ecx
.sum:
    add rax, [rsi + rcx*8]
    inc ecx
    cmp ecx, 512
    jb .sum
    CHECK_EQ rax, 0x757EF24CAF3DAFCE, "SIB array checksum (Python model of 300000 iterations)"
    PAYLOAD_DONE

    [section .bss]
    alignb 64
array:  resq 512

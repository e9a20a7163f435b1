; Benchmark loop of `kvm-unit bench ref`: REP MOVSB of 16 bytes, REP STOSQ of 1 KiB and
; REP MOVSD of 1 KiB at CPL3, 15 instructions per iteration (a REP instruction counts
; once, whatever its count).
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M = 2**64-1):
;   src = bytearray(range(0x40, 0x50)); dst = bytearray(16); big2 = [0] * 128
;   for rbp in range(10000, 0, -1):
;       dst[:] = src; big2 = [rbp] * 128
;       src[0:8] = ((int.from_bytes(src[0:8], 'little') + rbp) & M).to_bytes(8, 'little')
;   checksum = (dst[0:8] + dst[8:16] + src[0:8] (little-endian qwords) + big2[0] + big2[127]) & M
;   # = 0xDDDAD7D4D7C4D3D9
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_rep_string, emulator, user64, "bench: REP MOVSB/STOSQ/MOVSD short and long at CPL3"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 10000
                    dq 15
                    dq 10000
payload_main:
    mov rax, 0x4746454443424140
    mov [str_src], rax
    mov rax, 0x4F4E4D4C4B4A4948
    mov [str_src + 8], rax
    cld
    mov rbp, [bench_iterations]
    test rbp, rbp
    jz .done
.loop:
    mov rsi, str_src                    ; 1
    mov rdi, str_dst                    ; 2
    mov ecx, 16                         ; 3
    rep movsb                           ; 4
    mov rdi, str_big                    ; 5
    mov ecx, 128                        ; 6
    mov rax, rbp                        ; 7
    rep stosq                           ; 8
    mov rsi, str_big                    ; 9
    mov rdi, str_big2                   ; 10
    mov ecx, 256                        ; 11
    rep movsd                           ; 12
    add [str_src], rax                  ; 13
    dec rbp                             ; 14
    jnz .loop                           ; 15
.done:
    mov rax, [str_dst]
    add rax, [str_dst + 8]
    add rax, [str_src]
    add rax, [str_big2]
    add rax, [str_big2 + 127*8]
    CHECK_EQ rax, 0xDDDAD7D4D7C4D3D9, "REP string checksum (Python model of 10000 iterations)"
    PAYLOAD_DONE

    [section .bss]
    alignb 64
str_src:  resb 16
str_dst:  resb 16
    alignb 64
str_big:  resq 128
str_big2: resq 128

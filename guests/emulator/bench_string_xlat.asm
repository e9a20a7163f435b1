; Benchmark loop of `kvm-unit bench ref`: a byte loop written the way hand-made assembly
; writes one, with the one-byte instructions: LODSB from a buffer, XLATB through a
; 256-byte table, STOSB to a second buffer, and LOOP as the counter, at CPL3, 8
; instructions per iteration. Both buffers are 2 KiB on a page boundary, so clearing bit 11
; of RSI/RDI (BTR) wraps them. The table and the source buffer are built first (outside the
; timed difference).
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M32 = 2**32-1):
;   tab = [(i * 167 + 13) & 0xFF for i in range(256)]
;   buf = [(i * 0x9D + (i >> 8)) & 0xFF for i in range(2048)]
;   edx, k = 0, 0
;   for _ in range(400000):
;       al = tab[buf[k]]; edx = rol32((edx + al) & M32, 3); k = (k + 1) % 2048
;   # edx = 0x98FC61D2; the last byte stored, out[(400000 - 1) % 2048], is al of that step
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_string_xlat, emulator, user64, "bench: LODSB/XLATB/STOSB byte loop counted by LOOP at CPL3"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 400000
                    dq 8
                    dq 400000
payload_main:
    ; the table: tab[i] = i * 167 + 13
    xor ecx, ecx
.tab:
    imul eax, ecx, 167
    add eax, 13
    mov [sx_tab + rcx], al
    inc ecx
    cmp ecx, 256
    jb .tab
    ; the source: buf[i] = i * 0x9D + (i >> 8)
    xor ecx, ecx
.fill:
    imul eax, ecx, 0x9D
    mov edx, ecx
    shr edx, 8
    add eax, edx
    mov [sx_src + rcx], al
    inc ecx
    cmp ecx, 2048
    jb .fill
    cld
    mov rsi, sx_src
    mov rdi, sx_dst
    mov rbx, sx_tab
    xor eax, eax
    xor edx, edx
    mov rcx, [bench_iterations]
    jrcxz .done
.loop:
    lodsb                               ; 1
    xlatb                               ; 2
    add edx, eax                        ; 3
    rol edx, 3                          ; 4
    stosb                               ; 5
    btr esi, 11                         ; 6
    btr edi, 11                         ; 7
    loop .loop                          ; 8
.done:
    CHECK_EQ rdx, 0x98FC61D2, "LODSB/XLATB/STOSB loop checksum (Python model of 400000 iterations)"
    ; the last byte stored is the last AL, and RCX counted down to 0
    movzx eax, al
    movzx r8d, byte [sx_dst + (400000 - 1) % 2048]
    CHECK_EQ r8, rax, "the last STOSB stored the last XLATB result"
    CHECK_EQ rcx, 0, "LOOP counted RCX down to 0"
    PAYLOAD_DONE

    [section .bss]
    alignb 4096
sx_src: resb 4096
sx_dst: resb 4096
sx_tab: resb 256

; Benchmark loop of `kvm-unit bench ref`: table-driven CRC-32 (reflected polynomial
; 0xEDB88320) over a 4 KiB buffer, one byte per iteration at CPL3, 8 instructions per
; iteration. The table and the buffer are built first (outside the timed difference).
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected CRC register, computed independently with this Python model:
;   t = []
;   for i in range(256):
;       c = i
;       for _ in range(8): c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
;       t.append(c)
;   buf = [(i * 0x9D + (i >> 8)) & 0xFF for i in range(4096)]
;   crc, k = 0xFFFFFFFF, 0
;   for _ in range(400000): crc = (crc >> 8) ^ t[(buf[k] ^ crc) & 0xFF]; k = (k + 1) & 4095
;   # crc = 0xAFD550D1 (no final inversion)
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_crc32_table, emulator, user64, "bench: table-driven CRC-32 byte loop at CPL3"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 400000
                    dq 8
                    dq 400000
payload_main:
    ; the table: the bitwise algorithm, 256 entries
    xor ecx, ecx
.tab:
    mov eax, ecx
    mov edx, 8
.bit:
    shr eax, 1
    jnc .nox
    xor eax, 0xEDB88320
.nox:
    dec edx
    jnz .bit
    mov [crc_tab + rcx*4], eax
    inc ecx
    cmp ecx, 256
    jb .tab
    ; the buffer: buf[i] = i * 0x9D + (i >> 8)
    xor ecx, ecx
.fill:
    imul eax, ecx, 0x9D
    mov edx, ecx
    shr edx, 8
    add eax, edx
    mov [crc_buf + rcx], al
    inc ecx
    cmp ecx, 4096
    jb .fill
    mov rbx, crc_tab
    mov rdi, crc_buf
    mov edx, 0xFFFFFFFF
    xor r8d, r8d
    xor eax, eax
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    movzx eax, byte [rdi + r8]          ; 1
    xor al, dl                          ; 2
    shr edx, 8                          ; 3
    xor edx, [rbx + rax*4]              ; 4
    inc r8d                             ; 5
    and r8d, 4095                       ; 6
    dec rcx                             ; 7
    jnz .loop                           ; 8
.done:
    CHECK_EQ rdx, 0xAFD550D1, "CRC-32 of 400000 bytes (Python model)"
    PAYLOAD_DONE

    [section .bss]
    alignb 64
crc_tab: resd 256
crc_buf: resb 4096

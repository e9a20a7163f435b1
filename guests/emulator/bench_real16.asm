; Benchmark loop of `kvm-unit bench ref`: real-address-mode code (16-bit operands and
; [BX/SI/DI+disp16] addressing, an ES override, PUSH/POP, a 66h-prefixed 32-bit counter),
; 15 instructions per iteration.
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (16-bit wrapping):
;   w = [0x1234, 0, 0]; buf = [0] * 64; bx = 0xBEEF
;   for ecx in range(25000, 0, -1):
;       ax = (w[0] + (ecx & 0xFFFF)) & 0xFFFF; w[1] = ax
;       bx = rol16(bx ^ ax, 3); di = bx & 0x7E
;       buf[di // 2] = (buf[di // 2] + ax) & 0xFFFF
;       w[2] ^= bx; w[0] = (ax + w[2]) & 0xFFFF
;   checksum = (w[0] + w[1] + w[2] + sum(buf) + bx) & 0xFFFF   # = 0xE688
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_real16, emulator, real16, "bench: real-mode 16-bit load/store/push/pop loop"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 25000
                    dq 15
                    dq 25000
payload_main:
    mov si, r16_words
    mov word [si], 0x1234
    mov bx, 0xBEEF
    mov ecx, [bench_iterations]
    test ecx, ecx
    jz .done
.loop:
    mov ax, [si]                        ; 1
    add ax, cx                          ; 2
    mov [si + 2], ax                    ; 3
    xor bx, ax                          ; 4
    rol bx, 3                           ; 5
    mov di, bx                          ; 6
    and di, 0x7E                        ; 7
    add [di + r16_buf], ax              ; 8
    push bx                             ; 9
    pop dx                              ; 10
    xor [es:si + 4], dx                 ; 11
    add ax, [si + 4]                    ; 12
    mov [si], ax                        ; 13
    dec ecx                             ; 14
    jnz .loop                           ; 15
.done:
    mov ax, [si]
    add ax, [si + 2]
    add ax, [si + 4]
    add ax, bx
    xor di, di
.sum:
    add ax, [di + r16_buf]
    add di, 2
    cmp di, 128
    jb .sum
    movzx eax, ax
    CHECK_EQ eax, 0xE688, "real-mode loop checksum (Python model of 25000 iterations)"
    PAYLOAD_DONE

    [section .bss]
    alignb 64
r16_words: resw 4
r16_buf:   resw 64

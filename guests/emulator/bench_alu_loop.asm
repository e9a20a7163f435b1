; Benchmark loop 1 of `kvm-unit bench ref`: register ALU work, 12 instructions per
; iteration on either path of its inner branch:
;   add rax,rcx / xor rbx,rax / mov rsi,rbx / shl rsi,5 / sub rdx,rsi / inc rdi /
;   cmp rdx,rbx / jb / (add r9,rdx + jmp | sub r9,rbx + xor r9,rdi) / dec rcx / jnz
; It runs at CPL3 (user64) so that a /dev/kvm whose CPL0 is emulated runs it natively.
;
; Bench parameter block (patched by the bench, see Sources/Conformance/Bench/ExternalEmulators.swift):
; the 8-byte tag "KVMUBNCH" followed by three u64: iterations, instructions per
; iteration, default iterations.  It is the first thing after the PAYLOAD macro's
; runtime (label bench_params, 8-byte aligned, never executed); the bench finds it
; by its tag, so its image offset may move when the boot library changes.
; With a patched iteration count the final CHECK_EQ fails (status 1): the bench
; only requires status 0 when the count is the default one.
;
; Expected checksum, SDM semantics (64-bit wrapping ADD/SUB/INC/DEC, SHL by 5
; drops the top five bits, JB taken iff CF=1 i.e. rdx < rbx unsigned after CMP),
; computed independently with this Python model of the loop:
;   M = 2**64 - 1
;   rax, rbx, rdx, rdi, r9 = 0x0123456789ABCDEF, 0xFEDCBA9876543210, 0x0F1E2D3C4B5A6978, 0, 0x5555AAAA5555AAAA
;   for rcx in range(300000, 0, -1):
;       rax = (rax + rcx) & M; rbx ^= rax; rsi = (rbx << 5) & M; rdx = (rdx - rsi) & M
;       rdi += 1
;       if rdx < rbx: r9 = ((r9 - rbx) & M) ^ rdi
;       else:         r9 = (r9 + rdx) & M
;   checksum = ((rax ^ rbx) + rdx + r9 + rdi) & M     # = 0xFD949AAE15ABE317
; (checksum for 0 iterations: 0x6473D7E6A0B01421)
%define PL_BUDGET 200000000             ; the bench may raise the iteration count
%include "payload.inc"
PAYLOAD bench_alu_loop, emulator, user64, "bench: ALU register loop at CPL3, 12 instructions per iteration"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 300000           ; +8: iteration count (patched by the bench)
                    dq 12               ; +16: instructions per iteration
                    dq 300000           ; +24: default iteration count (checksum below)
payload_main:
    mov rax, 0x0123456789ABCDEF
    mov rbx, 0xFEDCBA9876543210
    mov rdx, 0x0F1E2D3C4B5A6978
    xor edi, edi
    mov r9, 0x5555AAAA5555AAAA
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    add rax, rcx                        ; 1
    xor rbx, rax                        ; 2
    mov rsi, rbx                        ; 3
    shl rsi, 5                          ; 4
    sub rdx, rsi                        ; 5
    inc rdi                             ; 6
    cmp rdx, rbx                        ; 7
    jb .below                           ; 8
    add r9, rdx                         ; 9
    jmp .join                           ; 10
.below:
    sub r9, rbx                         ; 9
    xor r9, rdi                         ; 10
.join:
    dec rcx                             ; 11
    jnz .loop                           ; 12
.done:
    xor rax, rbx
    add rax, rdx
    add rax, r9
    add rax, rdi
    CHECK_EQ rax, 0xFD949AAE15ABE317, "ALU loop checksum (Python model of 300000 iterations)"
    CHECK_EQ rdi, 300000, "ALU loop iteration count"
    PAYLOAD_DONE

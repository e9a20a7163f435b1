; Benchmark loop 2 of `kvm-unit bench ref`: loads, stores, PUSH/POP and CALL/RET of
; a small function, 15 instructions per iteration:
;   mov rax,[rsi] / add rax,rcx / mov [rsi+8],rax / push rax / call mix /
;     mix: mov rdx,[rsp+8] / add rdx,[rsi+8] / rol rdx,13 / mov [rsi+16],rdx / ret
;   pop rbx / xor rbx,[rsi+16] / mov [rsi],rbx / dec rcx / jnz
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
; Expected checksum, SDM semantics (64-bit wrapping ADD, ROL by 13, PUSH/CALL store
; below RSP so [rsp+8] in mix is the pushed rax), computed independently with this
; Python model of the loop:
;   M = 2**64 - 1
;   c = [0x1111111111111111, 0, 0]                  # cells[0], cells[1], cells[2]
;   for rcx in range(250000, 0, -1):
;       rax = (c[0] + rcx) & M; c[1] = rax
;       rdx = (rax + c[1]) & M; rdx = ((rdx << 13) | (rdx >> 51)) & M; c[2] = rdx
;       c[0] = rax ^ c[2]
;   checksum = (c[0] + c[1] + c[2]) & M             # = 0xFDFF7BFFFBBFEF52
; (checksum for 0 iterations: 0x1111111111111111)
%define PL_BUDGET 200000000             ; the bench may raise the iteration count
%include "payload.inc"
PAYLOAD bench_mem_call_loop, emulator, user64, "bench: load/store/push/pop/call loop at CPL3, 15 instructions per iteration"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 250000           ; +8: iteration count (patched by the bench)
                    dq 15               ; +16: instructions per iteration
                    dq 250000           ; +24: default iteration count (checksum below)
payload_main:
    mov rsi, cells
    mov rax, 0x1111111111111111
    mov [rsi], rax
    mov qword [rsi + 8], 0
    mov qword [rsi + 16], 0
    xor ebx, ebx
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    mov rax, [rsi]                      ; 1  load
    add rax, rcx                        ; 2
    mov [rsi + 8], rax                  ; 3  store
    push rax                            ; 4  store
    call mix                            ; 5  store (return address); mix is 6..10
    pop rbx                             ; 11 load
    xor rbx, [rsi + 16]                 ; 12 load
    mov [rsi], rbx                      ; 13 store
    dec rcx                             ; 14
    jnz .loop                           ; 15
.done:
    mov rax, [rsi]
    add rax, [rsi + 8]
    add rax, [rsi + 16]
    CHECK_EQ rax, 0xFDFF7BFFFBBFEF52, "load/store/call loop checksum (Python model of 250000 iterations)"
    mov rdx, rsp
    CHECK_EQ rdx, __user_stack_top - 8, "stack balanced (RSP back at its entry value)"
    PAYLOAD_DONE
mix:
    mov rdx, [rsp + 8]                  ; 6  load (the pushed rax)
    add rdx, [rsi + 8]                  ; 7  load
    rol rdx, 13                         ; 8
    mov [rsi + 16], rdx                 ; 9  store
    ret                                 ; 10 load (return address)

    ; In .bss, so on its own page: a store to the page holding the loop's code would
    ; look like self-modifying code to a translating emulator (QEMU, Bochs's trace cache).
    [section .bss]
    alignb 64
cells:  resq 3

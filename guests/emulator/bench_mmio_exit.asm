; Benchmark loop of `kvm-unit bench ref`: a loop that exits to userspace on every
; iteration through MMIO (a 32-bit store to GPA 0xC0000000, where no memory slot and no
; window is: KVM_EXIT_MMIO, which the harness drops as an unbacked bus), 8 instructions per
; iteration. Like bench_pio_exit it measures the exit round trip as much as the
; instructions: here the MMIO path (EPT misconfiguration, the write's exit, re-entry).
; Bench parameter block: the 8-byte tag "KVMUBNCH" and three u64 (iterations, instructions
; per iteration, default iterations), found by its tag (see bench_alu_loop.asm). With a
; patched iteration count the checksum check fails (status 1), which the bench accepts.
;
; Expected checksum, computed independently with this Python model (M32 = 2**32-1); the
; store changes no register:
;   ebx = 0x13579BDF
;   for ecx in range(40000, 0, -1): ebx = rol32(((ebx * 0x01000193) & M32) ^ ecx ^ ebx, 5)
;   # ebx = 0x906CF367
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_mmio_exit, emulator, long64, "bench: MMIO write to an unbacked GPA every iteration"
    align 8
bench_params:
    db "KVMUBNCH"
bench_iterations:   dq 40000
                    dq 8
                    dq 40000
payload_main:
    mov ebx, 0x13579BDF
    mov edi, 0xC0000000                 ; no memory slot, no MMIO window
    mov rcx, [bench_iterations]
    test rcx, rcx
    jz .done
.loop:
    mov eax, ecx                        ; 1
    xor eax, ebx                        ; 2
    mov [rdi], eax                      ; 3
    imul ebx, ebx, 0x01000193           ; 4
    xor ebx, eax                        ; 5
    rol ebx, 5                          ; 6
    dec ecx                             ; 7
    jnz .loop                           ; 8
.done:
    CHECK_EQ rbx, 0x906CF367, "MMIO loop checksum (Python model of 40000 iterations)"
    PAYLOAD_DONE

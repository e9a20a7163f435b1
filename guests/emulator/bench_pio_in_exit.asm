; Benchmark loop of `kvm-unit bench ref`: a loop that exits to userspace on every
; iteration through an IN (of EAX from the latch port 0xE0, answered by the harness),
; 8 instructions per iteration. Unlike bench_pio_exit's OUT, the IN is finished by the next
; KVM_RUN with the VMM's data (complete_fast_pio_in): EAX written, RIP moved past it. It
; measures that completion as much as the exit. The loop, its parameter block and its
; checksum model are include/body_exit_loop.inc.
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_pio_in_exit, emulator, long64, "bench: IN from a userspace port every iteration"
%define EXIT_READ in eax, 0xE0
%define EXIT_WRITE
%include "body_exit_loop.inc"

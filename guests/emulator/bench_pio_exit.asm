; Benchmark loop of `kvm-unit bench ref`: a loop that exits to userspace on every
; iteration (OUT of EAX to the latch port 0xE0, handled by the harness), 8 instructions per
; iteration. It measures the exit round trip as much as the instructions. The loop, its
; parameter block and its checksum model are include/body_exit_loop.inc.
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_pio_exit, emulator, long64, "bench: OUT to a userspace port every iteration"
%define EXIT_READ
%define EXIT_WRITE out 0xE0, eax
%include "body_exit_loop.inc"

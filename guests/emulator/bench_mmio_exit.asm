; Benchmark loop of `kvm-unit bench ref`: a loop that exits to userspace on every
; iteration through MMIO (a 32-bit store to GPA 0xC0000000, where no memory slot and no
; window is: KVM_EXIT_MMIO, which the harness drops as an unbacked bus), 8 instructions per
; iteration. Like bench_pio_exit it measures the exit round trip as much as the
; instructions: here the MMIO path (EPT misconfiguration, the write's exit, re-entry). The
; loop, its parameter block and its checksum model are include/body_exit_loop.inc.
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_mmio_exit, emulator, long64, "bench: MMIO write to an unbacked GPA every iteration"
%define EXIT_READ
%define EXIT_WRITE mov [rdi], eax
%include "body_exit_loop.inc"

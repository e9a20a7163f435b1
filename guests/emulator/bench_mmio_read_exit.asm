; Benchmark loop of `kvm-unit bench ref`: a loop that exits to userspace on every
; iteration through an MMIO read (a 32-bit load from GPA 0xC0000000, where no memory slot
; and no window is: KVM_EXIT_MMIO, which the harness answers as an unbacked bus, all ones),
; 8 instructions per iteration. Unlike bench_mmio_exit's store, the load is finished by the
; next KVM_RUN with the VMM's bytes (complete_emulated_mmio): the register written, RIP
; moved past it. It measures that completion as much as the exit. The loop, its parameter
; block and its checksum model are include/body_exit_loop.inc; a completion that resumes
; at the wrong RIP or writes RDI, EBX or ECX changes the checksum.
%define PL_BUDGET 200000000
%include "payload.inc"
PAYLOAD bench_mmio_read_exit, emulator, long64, "bench: MMIO read from an unbacked GPA every iteration"
%define EXIT_READ mov eax, [rdi]
%define EXIT_WRITE
%include "body_exit_loop.inc"

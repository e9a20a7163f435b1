// CKVMBench: the steps that `kvm-unit bench host` times, written in plain C with raw
// ioctls, as the baseline HostKVM is measured against. The Swift side
// (Conformance/Bench/HostBench.swift) does the same steps through HostKVM's public API;
// both time with ckvmbench_now_ns() and fill an array of per-iteration nanoseconds, so
// the medians are computed by the same code.
#ifndef CKVMBENCH_H
#define CKVMBENCH_H

#include <stddef.h>
#include <stdint.h>

// Guest memory per VM (the Swift side uses the same), and where the guest code sits.
#define CKVMBENCH_MEMORY_SIZE 0x10000
#define CKVMBENCH_ENTRY 0x1000
// The port the IO round-trip guest writes to.
#define CKVMBENCH_IO_PORT 0x10

// CLOCK_MONOTONIC in nanoseconds: the one clock both sides read.
uint64_t ckvmbench_now_ns(void);

// open(path, O_RDWR | O_CLOEXEC); the fd or -errno.
int ckvmbench_open(const char *path);
int ckvmbench_close(int fd);

// The guest code of each benchmark (real mode, placed at CKVMBENCH_ENTRY), so the Swift
// side runs byte-for-byte the same guest. Returns the length, copies at most `cap` bytes.
size_t ckvmbench_hlt_guest(uint8_t *out, size_t cap);
size_t ckvmbench_io_guest(uint8_t *out, size_t cap);

// `iterations` VM lifecycles on the open /dev/kvm fd `kvm_fd`, each timed from
// KVM_CREATE_VM to the last close: create the VM, mmap CKVMBENCH_MEMORY_SIZE of guest
// memory, one memory slot, one vCPU with its kvm_run mapping, real mode at
// CKVMBENCH_ENTRY (GET/SET_SREGS, SET_REGS), KVM_RUN until KVM_EXIT_HLT, then unmap and
// close everything. out_ns[i] = the i-th lifecycle. 0, or -errno of the first failure
// (-EPROTO if the guest exited with anything other than HLT).
int ckvmbench_lifecycle(int kvm_fd, int iterations, uint64_t *out_ns);

// One VM whose guest loops on `out 0x10, al`; times `iterations` KVM_RUNs, each of which
// returns the IO exit (the first, untimed run warms the path). out_ns[i] = the i-th
// round trip. 0 or -errno (-EPROTO on an unexpected exit).
int ckvmbench_io_roundtrip(int kvm_fd, int iterations, uint64_t *out_ns);

#endif

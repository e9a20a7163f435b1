// The C baseline of `kvm-unit bench host`: see include/ckvmbench.h.
// Kept deliberately plain: raw ioctl(2), no helpers from CKVM, no error strings.
#define _GNU_SOURCE
#include "ckvmbench.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

uint64_t ckvmbench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ckvmbench_open(const char *path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int ckvmbench_close(int fd) { return close(fd) < 0 ? -errno : 0; }

// f4          hlt
static const uint8_t hlt_guest[] = { 0xF4 };

// 1000: e6 10   out 0x10, al
// 1002: eb fc   jmp short 0x1000
static const uint8_t io_guest[] = { 0xE6, CKVMBENCH_IO_PORT, 0xEB, 0xFC };

static size_t copy_guest(const uint8_t *g, size_t n, uint8_t *out, size_t cap) {
    if (out) memcpy(out, g, n < cap ? n : cap);
    return n;
}
size_t ckvmbench_hlt_guest(uint8_t *out, size_t cap) { return copy_guest(hlt_guest, sizeof hlt_guest, out, cap); }
size_t ckvmbench_io_guest(uint8_t *out, size_t cap) { return copy_guest(io_guest, sizeof io_guest, out, cap); }

// One VM with one slot of guest memory at GPA 0 holding `code` at CKVMBENCH_ENTRY, and
// one vCPU in real mode (CS = DS = ES = FS = GS = SS = 0) at CKVMBENCH_ENTRY.
struct vm {
    int vm_fd, vcpu_fd;
    void *mem;
    struct kvm_run *run;
    size_t run_size;
};

static void vm_destroy(struct vm *v) {
    if (v->run) munmap(v->run, v->run_size);
    if (v->vcpu_fd >= 0) close(v->vcpu_fd);
    if (v->vm_fd >= 0) close(v->vm_fd);
    if (v->mem) munmap(v->mem, CKVMBENCH_MEMORY_SIZE);
}

static void real_mode_segment(struct kvm_segment *s, int code) {
    memset(s, 0, sizeof *s);
    s->limit = 0xFFFF;
    s->type = code ? 0xB : 0x3;
    s->present = 1;
    s->s = 1;
}

static int vm_create(struct vm *v, int kvm_fd, size_t run_size, const uint8_t *code, size_t code_len) {
    v->vm_fd = v->vcpu_fd = -1;
    v->mem = NULL;
    v->run = NULL;
    v->run_size = run_size;

    v->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (v->vm_fd < 0) return -errno;

    void *mem = mmap(NULL, CKVMBENCH_MEMORY_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) return -errno;
    v->mem = mem;
    memcpy((uint8_t *)mem + CKVMBENCH_ENTRY, code, code_len);

    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = 0, .guest_phys_addr = 0,
        .memory_size = CKVMBENCH_MEMORY_SIZE, .userspace_addr = (uint64_t)(uintptr_t)mem,
    };
    if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) return -errno;

    v->vcpu_fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, 0);
    if (v->vcpu_fd < 0) return -errno;
    void *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu_fd, 0);
    if (run == MAP_FAILED) return -errno;
    v->run = run;

    struct kvm_sregs sregs;
    if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs) < 0) return -errno;
    real_mode_segment(&sregs.cs, 1);
    real_mode_segment(&sregs.ds, 0);
    real_mode_segment(&sregs.es, 0);
    real_mode_segment(&sregs.fs, 0);
    real_mode_segment(&sregs.gs, 0);
    real_mode_segment(&sregs.ss, 0);
    if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs) < 0) return -errno;

    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = CKVMBENCH_ENTRY;
    regs.rflags = 0x2;
    if (ioctl(v->vcpu_fd, KVM_SET_REGS, &regs) < 0) return -errno;
    return 0;
}

static int run_once(struct vm *v) {
    for (;;) {
        if (ioctl(v->vcpu_fd, KVM_RUN, 0) == 0) return 0;
        if (errno != EINTR) return -errno;
    }
}

int ckvmbench_lifecycle(int kvm_fd, int iterations, uint64_t *out_ns) {
    int run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0) return run_size < 0 ? -errno : -EINVAL;
    for (int i = 0; i < iterations; i++) {
        uint64_t t0 = ckvmbench_now_ns();
        struct vm v;
        int r = vm_create(&v, kvm_fd, (size_t)run_size, hlt_guest, sizeof hlt_guest);
        if (r == 0) r = run_once(&v);
        if (r == 0 && v.run->exit_reason != KVM_EXIT_HLT) r = -EPROTO;
        vm_destroy(&v);
        uint64_t t1 = ckvmbench_now_ns();
        if (r < 0) return r;
        out_ns[i] = t1 - t0;
    }
    return 0;
}

int ckvmbench_io_roundtrip(int kvm_fd, int iterations, uint64_t *out_ns) {
    int run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0) return run_size < 0 ? -errno : -EINVAL;
    struct vm v;
    int r = vm_create(&v, kvm_fd, (size_t)run_size, io_guest, sizeof io_guest);
    if (r == 0) r = run_once(&v);   // untimed: the first exit
    for (int i = 0; r == 0 && i < iterations; i++) {
        uint64_t t0 = ckvmbench_now_ns();
        r = run_once(&v);
        uint64_t t1 = ckvmbench_now_ns();
        if (r == 0 && (v.run->exit_reason != KVM_EXIT_IO || v.run->io.port != CKVMBENCH_IO_PORT ||
                       v.run->io.direction != KVM_EXIT_IO_OUT))
            r = -EPROTO;
        out_ns[i] = t1 - t0;
    }
    vm_destroy(&v);
    return r;
}

#define _GNU_SOURCE
#include "ckvm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

// Every wrapper funnels through here: the result, or -errno.
static inline int ret(long r) { return r < 0 ? -errno : (int)r; }

int ckvm_open(const char *path) { return ret(open(path, O_RDWR | O_CLOEXEC)); }
int ckvm_close(int fd) { return ret(close(fd)); }

struct kvm_run *ckvm_mmap_run(int vcpu_fd, size_t size, int *err) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
    if (p == MAP_FAILED) { if (err) *err = errno; return NULL; }
    if (err) *err = 0;
    return (struct kvm_run *)p;
}
int ckvm_munmap(void *addr, size_t size) { return ret(munmap(addr, size)); }

int ckvm_get_api_version(int fd) { return ret(ioctl(fd, KVM_GET_API_VERSION, 0)); }
int ckvm_check_extension(int fd, long cap) { return ret(ioctl(fd, KVM_CHECK_EXTENSION, cap)); }
int ckvm_create_vm(int fd, unsigned long type) { return ret(ioctl(fd, KVM_CREATE_VM, type)); }
int ckvm_get_vcpu_mmap_size(int fd) { return ret(ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0)); }
int ckvm_get_supported_cpuid(int fd, struct kvm_cpuid2 *c) { return ret(ioctl(fd, KVM_GET_SUPPORTED_CPUID, c)); }
int ckvm_get_msr_index_list(int fd, struct kvm_msr_list *l) { return ret(ioctl(fd, KVM_GET_MSR_INDEX_LIST, l)); }
int ckvm_get_msr_feature_index_list(int fd, struct kvm_msr_list *l) { return ret(ioctl(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, l)); }
int ckvm_has_device_attr(int fd, const struct kvm_device_attr *a) { return ret(ioctl(fd, KVM_HAS_DEVICE_ATTR, a)); }
int ckvm_get_device_attr(int fd, const struct kvm_device_attr *a) { return ret(ioctl(fd, KVM_GET_DEVICE_ATTR, a)); }
int ckvm_set_device_attr(int fd, const struct kvm_device_attr *a) { return ret(ioctl(fd, KVM_SET_DEVICE_ATTR, a)); }
int ckvm_enable_cap(int fd, const struct kvm_enable_cap *c) { return ret(ioctl(fd, KVM_ENABLE_CAP, c)); }
int ckvm_set_msr_filter(int fd, const struct kvm_msr_filter *f) { return ret(ioctl(fd, KVM_X86_SET_MSR_FILTER, f)); }
int ckvm_clear_dirty_log(int fd, struct kvm_clear_dirty_log *l) { return ret(ioctl(fd, KVM_CLEAR_DIRTY_LOG, l)); }
int ckvm_irq_line_status(int fd, struct kvm_irq_level *l) { return ret(ioctl(fd, KVM_IRQ_LINE_STATUS, l)); }
int ckvm_ioeventfd(int fd, const struct kvm_ioeventfd *e) { return ret(ioctl(fd, KVM_IOEVENTFD, e)); }
int ckvm_irqfd(int fd, const struct kvm_irqfd *f) { return ret(ioctl(fd, KVM_IRQFD, f)); }
int ckvm_set_gsi_routing(int fd, uint32_t nr, uint32_t flags,
                         const struct kvm_irq_routing_entry *entries, uint32_t given) {
    uint32_t copied = nr > 4097 ? 4097 : nr;
    struct kvm_irq_routing *r = calloc(1, sizeof(*r) + (size_t)copied * sizeof(struct kvm_irq_routing_entry));
    if (!r) return -ENOMEM;
    r->nr = nr;
    r->flags = flags;
    if (entries) memcpy(r->entries, entries, (size_t)(given < copied ? given : copied) * sizeof(*entries));
    int rc = ret(ioctl(fd, KVM_SET_GSI_ROUTING, r));
    free(r);
    return rc;
}
int ckvm_register_coalesced_mmio(int fd, const struct kvm_coalesced_mmio_zone *z) { return ret(ioctl(fd, KVM_REGISTER_COALESCED_MMIO, z)); }
int ckvm_unregister_coalesced_mmio(int fd, const struct kvm_coalesced_mmio_zone *z) { return ret(ioctl(fd, KVM_UNREGISTER_COALESCED_MMIO, z)); }
int ckvm_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == (ssize_t)sizeof one ? 0 : -errno;
}
int ckvm_eventfd(void) { return ret(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)); }
long long ckvm_eventfd_take(int fd) {
    uint64_t v = 0;
    ssize_t n = read(fd, &v, sizeof v);
    if (n == (ssize_t)sizeof v) return (long long)v;
    if (n < 0) return errno == EAGAIN ? 0 : -errno;
    return -EINVAL;   // a short read: not an eventfd
}
int ckvm_set_pmu_event_filter(int fd, uint32_t action, uint32_t fixed, uint32_t flags, uint32_t nevents,
                              const uint64_t *events) {
    // nevents is the caller's count (KVM refuses more than KVM_PMU_EVENT_FILTER_MAX_EVENTS
    // with E2BIG); the copy is at most that many plus one entries, so a huge count from a
    // test is bounded here rather than in the allocation.
    uint32_t copied = nevents > 301 ? 301 : nevents;
    struct kvm_pmu_event_filter *f = calloc(1, sizeof(*f) + (size_t)copied * sizeof(uint64_t));
    if (!f) return -ENOMEM;
    f->action = action;
    f->fixed_counter_bitmap = fixed;
    f->flags = flags;
    f->nevents = nevents;
    if (copied && events) memcpy(f->events, events, (size_t)copied * sizeof(uint64_t));
    int r = ret(ioctl(fd, KVM_SET_PMU_EVENT_FILTER, f));
    free(f);
    return r;
}

int ckvm_set_user_memory_region(int fd, const struct kvm_userspace_memory_region *r) {
    return ret(ioctl(fd, KVM_SET_USER_MEMORY_REGION, r));
}
int ckvm_create_vcpu(int fd, unsigned long id) { return ret(ioctl(fd, KVM_CREATE_VCPU, id)); }
int ckvm_create_irqchip(int fd) { return ret(ioctl(fd, KVM_CREATE_IRQCHIP, 0)); }
int ckvm_create_pit2(int fd, const struct kvm_pit_config *c) { return ret(ioctl(fd, KVM_CREATE_PIT2, c)); }
int ckvm_irq_line(int fd, struct kvm_irq_level *l) { return ret(ioctl(fd, KVM_IRQ_LINE, l)); }
int ckvm_signal_msi(int fd, const struct kvm_msi *m) { return ret(ioctl(fd, KVM_SIGNAL_MSI, m)); }
int ckvm_get_dirty_log(int fd, struct kvm_dirty_log *l) { return ret(ioctl(fd, KVM_GET_DIRTY_LOG, l)); }
int ckvm_set_tss_addr(int fd, unsigned long a) { return ret(ioctl(fd, KVM_SET_TSS_ADDR, a)); }
int ckvm_set_identity_map_addr(int fd, uint64_t a) { return ret(ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &a)); }
int ckvm_set_boot_cpu_id(int fd, unsigned long id) { return ret(ioctl(fd, KVM_SET_BOOT_CPU_ID, id)); }
// The VM and the vCPU fd both answer KVM_GET_TSC_KHZ (the frequency as the return value).
int ckvm_get_tsc_khz(int fd) { return ret(ioctl(fd, KVM_GET_TSC_KHZ, 0)); }
int ckvm_set_tsc_khz(int fd, unsigned long khz) { return ret(ioctl(fd, KVM_SET_TSC_KHZ, khz)); }
int ckvm_get_emulated_cpuid(int fd, struct kvm_cpuid2 *c) { return ret(ioctl(fd, KVM_GET_EMULATED_CPUID, c)); }
int ckvm_get_mce_cap_supported(int fd, uint64_t *cap) { return ret(ioctl(fd, KVM_X86_GET_MCE_CAP_SUPPORTED, cap)); }
int ckvm_create_pit(int fd) { return ret(ioctl(fd, KVM_CREATE_PIT, 0)); }
int ckvm_reinject_control(int fd, const struct kvm_reinject_control *c) { return ret(ioctl(fd, KVM_REINJECT_CONTROL, c)); }
int ckvm_get_nr_mmu_pages(int fd) { return ret(ioctl(fd, KVM_GET_NR_MMU_PAGES, 0)); }
int ckvm_set_nr_mmu_pages(int fd, unsigned long pages) { return ret(ioctl(fd, KVM_SET_NR_MMU_PAGES, pages)); }
int ckvm_get_clock(int fd, struct kvm_clock_data *d) { return ret(ioctl(fd, KVM_GET_CLOCK, d)); }
int ckvm_set_clock(int fd, const struct kvm_clock_data *d) { return ret(ioctl(fd, KVM_SET_CLOCK, d)); }
int ckvm_tpr_access_reporting(int fd, struct kvm_tpr_access_ctl *c) { return ret(ioctl(fd, KVM_TPR_ACCESS_REPORTING, c)); }
int ckvm_setup_mce(int fd, uint64_t mcg_cap) { return ret(ioctl(fd, KVM_X86_SETUP_MCE, &mcg_cap)); }
int ckvm_set_mce(int fd, const struct kvm_x86_mce *mce) { return ret(ioctl(fd, KVM_X86_SET_MCE, mce)); }
int ckvm_get_lapic(int fd, struct kvm_lapic_state *s) { return ret(ioctl(fd, KVM_GET_LAPIC, s)); }
int ckvm_get_sregs2(int fd, struct kvm_sregs2 *s) { return ret(ioctl(fd, KVM_GET_SREGS2, s)); }
int ckvm_set_cpuid(int fd, const struct kvm_cpuid *c) { return ret(ioctl(fd, KVM_SET_CPUID, c)); }
int ckvm_set_sregs2(int fd, const struct kvm_sregs2 *s) { return ret(ioctl(fd, KVM_SET_SREGS2, s)); }
int ckvm_set_lapic(int fd, const struct kvm_lapic_state *s) { return ret(ioctl(fd, KVM_SET_LAPIC, s)); }
int ckvm_get_irqchip(int fd, struct kvm_irqchip *c) { return ret(ioctl(fd, KVM_GET_IRQCHIP, c)); }
int ckvm_set_irqchip(int fd, const struct kvm_irqchip *c) { return ret(ioctl(fd, KVM_SET_IRQCHIP, c)); }
int ckvm_get_pit2(int fd, struct kvm_pit_state2 *s) { return ret(ioctl(fd, KVM_GET_PIT2, s)); }
int ckvm_set_pit2(int fd, const struct kvm_pit_state2 *s) { return ret(ioctl(fd, KVM_SET_PIT2, s)); }
// KVM_GET_PIT and KVM_SET_PIT use struct kvm_pit_state: the counters alone.
int ckvm_get_pit(int fd, struct kvm_pit_state *s) { return ret(ioctl(fd, KVM_GET_PIT, s)); }
int ckvm_set_pit(int fd, const struct kvm_pit_state *s) { return ret(ioctl(fd, KVM_SET_PIT, s)); }
int ckvm_get_stats_fd(int fd) { return ret(ioctl(fd, KVM_GET_STATS_FD, 0)); }

int ckvm_run(int fd) { return ret(ioctl(fd, KVM_RUN, 0)); }
int ckvm_get_regs(int fd, struct kvm_regs *r) { return ret(ioctl(fd, KVM_GET_REGS, r)); }
int ckvm_set_regs(int fd, const struct kvm_regs *r) { return ret(ioctl(fd, KVM_SET_REGS, r)); }
int ckvm_get_sregs(int fd, struct kvm_sregs *s) { return ret(ioctl(fd, KVM_GET_SREGS, s)); }
int ckvm_set_sregs(int fd, const struct kvm_sregs *s) { return ret(ioctl(fd, KVM_SET_SREGS, s)); }
int ckvm_get_fpu(int fd, struct kvm_fpu *f) { return ret(ioctl(fd, KVM_GET_FPU, f)); }
int ckvm_set_fpu(int fd, const struct kvm_fpu *f) { return ret(ioctl(fd, KVM_SET_FPU, f)); }
int ckvm_get_msrs(int fd, struct kvm_msrs *m) { return ret(ioctl(fd, KVM_GET_MSRS, m)); }
int ckvm_set_msrs(int fd, const struct kvm_msrs *m) { return ret(ioctl(fd, KVM_SET_MSRS, m)); }
int ckvm_set_cpuid2(int fd, const struct kvm_cpuid2 *c) { return ret(ioctl(fd, KVM_SET_CPUID2, c)); }
int ckvm_get_vcpu_events(int fd, struct kvm_vcpu_events *e) { return ret(ioctl(fd, KVM_GET_VCPU_EVENTS, e)); }
int ckvm_set_vcpu_events(int fd, const struct kvm_vcpu_events *e) { return ret(ioctl(fd, KVM_SET_VCPU_EVENTS, e)); }
int ckvm_interrupt(int fd, const struct kvm_interrupt *i) { return ret(ioctl(fd, KVM_INTERRUPT, i)); }
int ckvm_nmi(int fd) { return ret(ioctl(fd, KVM_NMI, 0)); }
int ckvm_set_guest_debug(int fd, const struct kvm_guest_debug *d) { return ret(ioctl(fd, KVM_SET_GUEST_DEBUG, d)); }
int ckvm_get_mp_state(int fd, struct kvm_mp_state *s) { return ret(ioctl(fd, KVM_GET_MP_STATE, s)); }
int ckvm_set_mp_state(int fd, const struct kvm_mp_state *s) { return ret(ioctl(fd, KVM_SET_MP_STATE, s)); }
int ckvm_get_debugregs(int fd, struct kvm_debugregs *d) { return ret(ioctl(fd, KVM_GET_DEBUGREGS, d)); }
int ckvm_set_debugregs(int fd, const struct kvm_debugregs *d) { return ret(ioctl(fd, KVM_SET_DEBUGREGS, d)); }
int ckvm_get_xcrs(int fd, struct kvm_xcrs *x) { return ret(ioctl(fd, KVM_GET_XCRS, x)); }
int ckvm_set_xcrs(int fd, const struct kvm_xcrs *x) { return ret(ioctl(fd, KVM_SET_XCRS, x)); }
int ckvm_get_xsave(int fd, struct kvm_xsave *x) { return ret(ioctl(fd, KVM_GET_XSAVE, x)); }
int ckvm_get_xsave2(int fd, void *buf) { return ret(ioctl(fd, KVM_GET_XSAVE2, buf)); }
int ckvm_set_xsave(int fd, const struct kvm_xsave *x) { return ret(ioctl(fd, KVM_SET_XSAVE, x)); }
int ckvm_get_cpuid2(int fd, struct kvm_cpuid2 *c) { return ret(ioctl(fd, KVM_GET_CPUID2, c)); }
int ckvm_translate(int fd, struct kvm_translation *t) { return ret(ioctl(fd, KVM_TRANSLATE, t)); }
int ckvm_kvmclock_ctrl(int fd) { return ret(ioctl(fd, KVM_KVMCLOCK_CTRL, 0)); }

static void kick_handler(int signo) { (void)signo; }

int ckvm_install_kick_handler(int signo) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = kick_handler;   // no SA_RESTART: KVM_RUN must come back with EINTR
    sigemptyset(&sa.sa_mask);
    return ret(sigaction(signo, &sa, NULL));
}
int ckvm_kick(unsigned long thread, int signo) {
    int e = pthread_kill((pthread_t)thread, signo);
    return e ? -e : 0;
}
unsigned long ckvm_self(void) { return (unsigned long)pthread_self(); }

int ckvm_set_kick_signal_mask(int vcpu_fd, int signo) {
    sigset_t set;
    if (pthread_sigmask(SIG_BLOCK, NULL, &set) != 0) return -errno;
    sigdelset(&set, signo);
    // struct kvm_signal_mask ends in a flexible array; KVM wants the kernel's 8-byte sigset.
    _Alignas(struct kvm_signal_mask) uint8_t buf[sizeof(struct kvm_signal_mask) + 8];
    struct kvm_signal_mask *m = (struct kvm_signal_mask *)buf;
    m->len = 8;
    memcpy(m->sigset, &set, 8);
    return ret(ioctl(vcpu_fd, KVM_SET_SIGNAL_MASK, m));
}

int ckvm_drain_kick(int signo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    struct timespec zero = {0, 0};
    return sigtimedwait(&set, NULL, &zero) == signo ? 1 : 0;
}

#define LAYOUT(name, expr) if (strcmp(what, name) == 0) return (expr)
size_t ckvm_layout(const char *what) {
    LAYOUT("sizeof(struct kvm_run)", sizeof(struct kvm_run));
    LAYOUT("kvm_run.request_interrupt_window", offsetof(struct kvm_run, request_interrupt_window));
    LAYOUT("kvm_run.immediate_exit", offsetof(struct kvm_run, immediate_exit));
    LAYOUT("kvm_run.exit_reason", offsetof(struct kvm_run, exit_reason));
    LAYOUT("kvm_run.ready_for_interrupt_injection", offsetof(struct kvm_run, ready_for_interrupt_injection));
    LAYOUT("kvm_run.if_flag", offsetof(struct kvm_run, if_flag));
    LAYOUT("kvm_run.io", offsetof(struct kvm_run, io));
    LAYOUT("kvm_run.io.direction", offsetof(struct kvm_run, io.direction));
    LAYOUT("kvm_run.io.size", offsetof(struct kvm_run, io.size));
    LAYOUT("kvm_run.io.port", offsetof(struct kvm_run, io.port));
    LAYOUT("kvm_run.io.count", offsetof(struct kvm_run, io.count));
    LAYOUT("kvm_run.io.data_offset", offsetof(struct kvm_run, io.data_offset));
    LAYOUT("kvm_run.mmio", offsetof(struct kvm_run, mmio));
    LAYOUT("kvm_run.mmio.phys_addr", offsetof(struct kvm_run, mmio.phys_addr));
    LAYOUT("kvm_run.mmio.data", offsetof(struct kvm_run, mmio.data));
    LAYOUT("kvm_run.mmio.len", offsetof(struct kvm_run, mmio.len));
    LAYOUT("kvm_run.mmio.is_write", offsetof(struct kvm_run, mmio.is_write));
    LAYOUT("kvm_run.internal", offsetof(struct kvm_run, internal));
    LAYOUT("kvm_run.internal.suberror", offsetof(struct kvm_run, internal.suberror));
    LAYOUT("kvm_run.internal.ndata", offsetof(struct kvm_run, internal.ndata));
    LAYOUT("kvm_run.internal.data", offsetof(struct kvm_run, internal.data));
    LAYOUT("sizeof(struct kvm_regs)", sizeof(struct kvm_regs));
    LAYOUT("kvm_regs.rip", offsetof(struct kvm_regs, rip));
    LAYOUT("kvm_regs.rflags", offsetof(struct kvm_regs, rflags));
    LAYOUT("sizeof(struct kvm_sregs)", sizeof(struct kvm_sregs));
    LAYOUT("kvm_sregs.tr", offsetof(struct kvm_sregs, tr));
    LAYOUT("kvm_sregs.gdt", offsetof(struct kvm_sregs, gdt));
    LAYOUT("kvm_sregs.cr0", offsetof(struct kvm_sregs, cr0));
    LAYOUT("kvm_sregs.efer", offsetof(struct kvm_sregs, efer));
    LAYOUT("kvm_sregs.apic_base", offsetof(struct kvm_sregs, apic_base));
    LAYOUT("kvm_sregs.interrupt_bitmap", offsetof(struct kvm_sregs, interrupt_bitmap));
    LAYOUT("sizeof(struct kvm_segment)", sizeof(struct kvm_segment));
    LAYOUT("kvm_segment.limit", offsetof(struct kvm_segment, limit));
    LAYOUT("kvm_segment.selector", offsetof(struct kvm_segment, selector));
    LAYOUT("kvm_segment.type", offsetof(struct kvm_segment, type));
    LAYOUT("kvm_segment.unusable", offsetof(struct kvm_segment, unusable));
    LAYOUT("sizeof(struct kvm_vcpu_events)", sizeof(struct kvm_vcpu_events));
    LAYOUT("kvm_vcpu_events.interrupt", offsetof(struct kvm_vcpu_events, interrupt));
    LAYOUT("kvm_vcpu_events.nmi", offsetof(struct kvm_vcpu_events, nmi));
    LAYOUT("kvm_vcpu_events.sipi_vector", offsetof(struct kvm_vcpu_events, sipi_vector));
    LAYOUT("kvm_vcpu_events.flags", offsetof(struct kvm_vcpu_events, flags));
    LAYOUT("kvm_vcpu_events.smi", offsetof(struct kvm_vcpu_events, smi));
    LAYOUT("kvm_vcpu_events.triple_fault", offsetof(struct kvm_vcpu_events, triple_fault));
    return (size_t)-1;
}

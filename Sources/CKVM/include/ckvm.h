// CKVM: the C side of the /dev/kvm backend.
//
// One fixed-arity wrapper per ioctl the backends use, so Swift never calls the variadic
// ioctl(2). Every wrapper returns the ioctl's non-negative result, or -errno on failure
// (so errno never has to cross into Swift). linux/kvm.h is exported as is.
#ifndef CKVM_H
#define CKVM_H

#include <linux/kvm.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

// --- file descriptors and mappings -------------------------------------------------------
int ckvm_open(const char *path);                    // O_RDWR | O_CLOEXEC
int ckvm_close(int fd);
// Maps a vCPU's struct kvm_run (size from KVM_GET_VCPU_MMAP_SIZE). NULL and *err = errno on failure.
struct kvm_run *ckvm_mmap_run(int vcpu_fd, size_t size, int *err);
int ckvm_munmap(void *addr, size_t size);

// --- system fd -----------------------------------------------------------------------------
int ckvm_get_api_version(int kvm_fd);
int ckvm_check_extension(int fd, long capability);  // system or VM fd
int ckvm_create_vm(int kvm_fd, unsigned long type);
int ckvm_get_vcpu_mmap_size(int kvm_fd);
int ckvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 *cpuid);
int ckvm_get_msr_index_list(int kvm_fd, struct kvm_msr_list *list);
int ckvm_get_msr_feature_index_list(int kvm_fd, struct kvm_msr_list *list);
// KVM_HAS/GET/SET_DEVICE_ATTR on the system or the vCPU fd (attr->addr points at a u64).
int ckvm_has_device_attr(int fd, const struct kvm_device_attr *attr);
int ckvm_get_device_attr(int fd, const struct kvm_device_attr *attr);
int ckvm_set_device_attr(int fd, const struct kvm_device_attr *attr);

// --- VM fd ---------------------------------------------------------------------------------
int ckvm_set_user_memory_region(int vm_fd, const struct kvm_userspace_memory_region *region);
int ckvm_create_vcpu(int vm_fd, unsigned long vcpu_id);
int ckvm_create_irqchip(int vm_fd);
int ckvm_create_pit2(int vm_fd, const struct kvm_pit_config *config);
int ckvm_irq_line(int vm_fd, struct kvm_irq_level *level);
int ckvm_signal_msi(int vm_fd, const struct kvm_msi *msi);
int ckvm_get_dirty_log(int vm_fd, struct kvm_dirty_log *log);
int ckvm_set_tss_addr(int vm_fd, unsigned long addr);
int ckvm_set_identity_map_addr(int vm_fd, uint64_t addr);
int ckvm_set_boot_cpu_id(int vm_fd, unsigned long id);
int ckvm_get_tsc_khz(int fd);
int ckvm_set_tsc_khz(int fd, unsigned long khz);    // VM or vCPU fd
int ckvm_get_emulated_cpuid(int kvm_fd, struct kvm_cpuid2 *cpuid);
int ckvm_get_mce_cap_supported(int kvm_fd, uint64_t *cap);
int ckvm_create_pit(int vm_fd);
int ckvm_reinject_control(int vm_fd, const struct kvm_reinject_control *c);
int ckvm_get_nr_mmu_pages(int vm_fd);
int ckvm_set_nr_mmu_pages(int vm_fd, unsigned long pages);
int ckvm_get_clock(int vm_fd, struct kvm_clock_data *d);
int ckvm_set_clock(int vm_fd, const struct kvm_clock_data *d);
int ckvm_tpr_access_reporting(int vcpu_fd, struct kvm_tpr_access_ctl *c);
int ckvm_setup_mce(int vcpu_fd, uint64_t mcg_cap);
int ckvm_set_mce(int vcpu_fd, const struct kvm_x86_mce *mce);
int ckvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *s);
int ckvm_get_sregs2(int vcpu_fd, struct kvm_sregs2 *s);
int ckvm_set_cpuid(int vcpu_fd, const struct kvm_cpuid *c);
int ckvm_set_sregs2(int vcpu_fd, const struct kvm_sregs2 *s);
int ckvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *s);
int ckvm_get_irqchip(int vm_fd, struct kvm_irqchip *c);
int ckvm_set_irqchip(int vm_fd, const struct kvm_irqchip *c);
int ckvm_get_pit2(int vm_fd, struct kvm_pit_state2 *s);
int ckvm_set_pit2(int vm_fd, const struct kvm_pit_state2 *s);
int ckvm_get_pit(int vm_fd, struct kvm_pit_state *s);
int ckvm_set_pit(int vm_fd, const struct kvm_pit_state *s);
int ckvm_get_stats_fd(int fd);                      // VM or vCPU fd
int ckvm_enable_cap(int fd, const struct kvm_enable_cap *cap);   // VM or vCPU fd
int ckvm_set_msr_filter(int vm_fd, const struct kvm_msr_filter *filter);
int ckvm_clear_dirty_log(int vm_fd, struct kvm_clear_dirty_log *log);
int ckvm_irq_line_status(int vm_fd, struct kvm_irq_level *level);   // level->status is written back
int ckvm_ioeventfd(int vm_fd, const struct kvm_ioeventfd *e);
int ckvm_irqfd(int vm_fd, const struct kvm_irqfd *f);
// KVM_SET_GSI_ROUTING: builds the flexible-array struct kvm_irq_routing with nr (the count
// KVM is told) and flags, from `given` entries (missing ones are zero; at most 4097 are
// copied, KVM refuses more than KVM_MAX_IRQ_ROUTES before reading any).
int ckvm_set_gsi_routing(int vm_fd, uint32_t nr, uint32_t flags,
                         const struct kvm_irq_routing_entry *entries, uint32_t given);
int ckvm_register_coalesced_mmio(int vm_fd, const struct kvm_coalesced_mmio_zone *z);
int ckvm_unregister_coalesced_mmio(int vm_fd, const struct kvm_coalesced_mmio_zone *z);
// An eventfd (EFD_CLOEXEC | EFD_NONBLOCK) for KVM_IOEVENTFD and the checks; its counter read
// (0 when nothing was written: EAGAIN is not an error here) or -errno.
int ckvm_eventfd(void);
long long ckvm_eventfd_take(int fd);
int ckvm_eventfd_signal(int fd);                    // adds 1 to the counter: 0 or -errno
// KVM_SET_PMU_EVENT_FILTER: builds the flexible-array struct kvm_pmu_event_filter from its
// fields (-ENOMEM if it cannot be allocated).
int ckvm_set_pmu_event_filter(int vm_fd, uint32_t action, uint32_t fixed_counter_bitmap, uint32_t flags,
                              uint32_t nevents, const uint64_t *events);

// --- vCPU fd -------------------------------------------------------------------------------
int ckvm_run(int vcpu_fd);
int ckvm_get_regs(int vcpu_fd, struct kvm_regs *regs);
int ckvm_set_regs(int vcpu_fd, const struct kvm_regs *regs);
int ckvm_get_sregs(int vcpu_fd, struct kvm_sregs *sregs);
int ckvm_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs);
int ckvm_get_fpu(int vcpu_fd, struct kvm_fpu *fpu);
int ckvm_set_fpu(int vcpu_fd, const struct kvm_fpu *fpu);
int ckvm_get_msrs(int vcpu_fd, struct kvm_msrs *msrs);   // returns the number read
int ckvm_set_msrs(int vcpu_fd, const struct kvm_msrs *msrs);
int ckvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *cpuid);
int ckvm_get_vcpu_events(int vcpu_fd, struct kvm_vcpu_events *events);
int ckvm_set_vcpu_events(int vcpu_fd, const struct kvm_vcpu_events *events);
int ckvm_interrupt(int vcpu_fd, const struct kvm_interrupt *irq);
int ckvm_nmi(int vcpu_fd);
int ckvm_set_guest_debug(int vcpu_fd, const struct kvm_guest_debug *debug);
int ckvm_get_mp_state(int vcpu_fd, struct kvm_mp_state *state);
int ckvm_set_mp_state(int vcpu_fd, const struct kvm_mp_state *state);
int ckvm_get_debugregs(int vcpu_fd, struct kvm_debugregs *regs);
int ckvm_set_debugregs(int vcpu_fd, const struct kvm_debugregs *regs);
int ckvm_get_xcrs(int vcpu_fd, struct kvm_xcrs *xcrs);
int ckvm_set_xcrs(int vcpu_fd, const struct kvm_xcrs *xcrs);
/* KVM_GET_XSAVE / KVM_SET_XSAVE: the 4 KiB XSAVE image in the standard (non-compacted) form. */
int ckvm_get_xsave(int vcpu_fd, struct kvm_xsave *xsave);
// KVM_GET_XSAVE2: `buf` must hold KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) bytes (at least 4096).
int ckvm_get_xsave2(int vcpu_fd, void *buf);
int ckvm_set_xsave(int vcpu_fd, const struct kvm_xsave *xsave);
int ckvm_get_cpuid2(int vcpu_fd, struct kvm_cpuid2 *cpuid);
int ckvm_translate(int vcpu_fd, struct kvm_translation *tr);
int ckvm_kvmclock_ctrl(int vcpu_fd);

// --- the watchdog's kick ---------------------------------------------------------------------
// Installs a do-nothing handler for `signo` without SA_RESTART, so that a signal sent to a
// thread inside KVM_RUN makes the ioctl return -EINTR. Idempotent. Returns 0 or -errno.
int ckvm_install_kick_handler(int signo);
// pthread_kill(thread, signo) for the thread id captured by ckvm_self(); 0 or -errno.
int ckvm_kick(unsigned long thread, int signo);
unsigned long ckvm_self(void);
// KVM_SET_SIGNAL_MASK with the calling thread's mask minus `signo`: whatever the vCPU
// thread blocks (libdispatch workers block almost everything), the kick still interrupts
// KVM_RUN. 0 or -errno.
int ckvm_set_kick_signal_mask(int vcpu_fd, int signo);
// Consumes a kick that is pending but blocked on this thread (it arrived after KVM_RUN
// returned), so it cannot interrupt the next KVM_RUN. Returns 1 if one was consumed.
int ckvm_drain_kick(int signo);

// --- kvm_run accessors (static inline: they compile into the Swift caller) -------------------
// The anonymous union of struct kvm_run is reachable from Swift, but these keep the byte
// arithmetic of the I/O data page (data_offset) in one readable place.
static inline uint8_t *ckvm_run_io_data(struct kvm_run *run) {
    return (uint8_t *)run + run->io.data_offset;
}
// The coalesced-MMIO ring: KVM_COALESCED_MMIO_PAGE_OFFSET pages into the vCPU mapping.
static inline struct kvm_coalesced_mmio_ring *ckvm_coalesced_ring(struct kvm_run *run, size_t page_size) {
    return (struct kvm_coalesced_mmio_ring *)((uint8_t *)run + KVM_COALESCED_MMIO_PAGE_OFFSET * page_size);
}
static inline volatile uint8_t *ckvm_run_immediate_exit(struct kvm_run *run) {
    return (volatile uint8_t *)&run->immediate_exit;
}

// --- layout facts for the ABI tests (sizeof/offsetof as the C compiler sees them) ------------
size_t ckvm_layout(const char *what);

#endif

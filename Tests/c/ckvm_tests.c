// cmocka tests of the CKVM shim (Sources/CKVM): struct layouts against the x86-64 ABI of
// linux/kvm.h, the shim's ckvm_layout table, and the -errno mapping of the ioctl wrappers.
// Built and run by Tests/c/run.sh.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ckvm.h"

#ifndef CKVM_SOURCE
#error "CKVM_SOURCE must name Sources/CKVM/ckvm.c (run.sh passes it)"
#endif

// --- layouts --------------------------------------------------------------------------------
//
// `expected` is written by hand from linux/kvm.h and asm/kvm.h (x86-64: __u64 is 8-aligned,
// no __KVM_S390 fields); `actual` is what this compiler computes; ckvm_layout(name) must
// agree with both, so the shim's table (which Swift tests use) is checked too.

struct layout_fact {
    const char *name;
    size_t actual;
    size_t expected;
};

#define OFF(type, member) offsetof(struct type, member)

// struct kvm_run: request_interrupt_window(1) immediate_exit(1) padding1[6] = 8 bytes,
// exit_reason(4) ready_for_interrupt_injection(1) if_flag(1) flags(2) = 8 more, then
// cr8 at 16, apic_base at 24, the exit union at 32 (char padding[256]), kvm_valid_regs at
// 32 + 256 = 288, kvm_dirty_regs at 296, union s at 304 (char padding[SYNC_REGS_SIZE_BYTES
// = 2048]), so sizeof = 304 + 2048 = 2352.
static const struct layout_fact kvm_run_facts[] = {
    {"sizeof(struct kvm_run)", sizeof(struct kvm_run), 2352},      // 304 s + 2048 padding
    {"kvm_run.request_interrupt_window", OFF(kvm_run, request_interrupt_window), 0},
    {"kvm_run.immediate_exit", OFF(kvm_run, immediate_exit), 1},   // 1 request_interrupt_window
    {"kvm_run.exit_reason", OFF(kvm_run, exit_reason), 8},         // 1 + 1 + 6 padding1
    {"kvm_run.ready_for_interrupt_injection", OFF(kvm_run, ready_for_interrupt_injection), 12},  // 8 + 4 exit_reason
    {"kvm_run.if_flag", OFF(kvm_run, if_flag), 13},                // 12 + 1 ready_for_interrupt_injection
    // The exit union: 8 (request_interrupt_window..padding1) + 8 (exit_reason..flags)
    // + 8 cr8 + 8 apic_base = 32.
    {"kvm_run.io", OFF(kvm_run, io), 32},
    {"kvm_run.io.direction", OFF(kvm_run, io.direction), 32},      // 32 + 0
    {"kvm_run.io.size", OFF(kvm_run, io.size), 33},                // 32 + 1 direction
    {"kvm_run.io.port", OFF(kvm_run, io.port), 34},                // 32 + 1 + 1 size (u16, 2-aligned)
    {"kvm_run.io.count", OFF(kvm_run, io.count), 36},              // 34 + 2 port (u32, 4-aligned)
    {"kvm_run.io.data_offset", OFF(kvm_run, io.data_offset), 40},  // 36 + 4 count (u64, 8-aligned)
    {"kvm_run.mmio", OFF(kvm_run, mmio), 32},
    {"kvm_run.mmio.phys_addr", OFF(kvm_run, mmio.phys_addr), 32},  // 32 + 0
    {"kvm_run.mmio.data", OFF(kvm_run, mmio.data), 40},            // 32 + 8 phys_addr
    {"kvm_run.mmio.len", OFF(kvm_run, mmio.len), 48},              // 40 + 8 data[8]
    {"kvm_run.mmio.is_write", OFF(kvm_run, mmio.is_write), 52},    // 48 + 4 len
    {"kvm_run.internal", OFF(kvm_run, internal), 32},
    {"kvm_run.internal.suberror", OFF(kvm_run, internal.suberror), 32},  // 32 + 0
    {"kvm_run.internal.ndata", OFF(kvm_run, internal.ndata), 36},        // 32 + 4 suberror
    {"kvm_run.internal.data", OFF(kvm_run, internal.data), 40},          // 36 + 4 ndata (u64, 8-aligned)
};

// struct kvm_regs: 18 __u64 (rax..r15 = 16, then rip, rflags).
static const struct layout_fact kvm_regs_facts[] = {
    {"sizeof(struct kvm_regs)", sizeof(struct kvm_regs), 144},     // 18 * 8
    {"kvm_regs.rip", OFF(kvm_regs, rip), 128},                     // 16 * 8 (rax..r15)
    {"kvm_regs.rflags", OFF(kvm_regs, rflags), 136},               // 128 + 8 rip
};

// struct kvm_segment: base(8) limit(4) selector(2) type present dpl db s l g avl unusable
// padding (1 each) = 8 + 4 + 2 + 10 = 24, 8-aligned.
static const struct layout_fact kvm_segment_facts[] = {
    {"sizeof(struct kvm_segment)", sizeof(struct kvm_segment), 24},  // 8 + 4 + 2 + 10 * 1
    {"kvm_segment.base", OFF(kvm_segment, base), 0},
    {"kvm_segment.limit", OFF(kvm_segment, limit), 8},             // 8 base
    {"kvm_segment.selector", OFF(kvm_segment, selector), 12},      // 8 + 4 limit
    {"kvm_segment.type", OFF(kvm_segment, type), 14},              // 12 + 2 selector
    {"kvm_segment.present", OFF(kvm_segment, present), 15},        // 14 + 1 type
    {"kvm_segment.dpl", OFF(kvm_segment, dpl), 16},                // 15 + 1
    {"kvm_segment.db", OFF(kvm_segment, db), 17},
    {"kvm_segment.s", OFF(kvm_segment, s), 18},
    {"kvm_segment.l", OFF(kvm_segment, l), 19},
    {"kvm_segment.g", OFF(kvm_segment, g), 20},
    {"kvm_segment.avl", OFF(kvm_segment, avl), 21},
    {"kvm_segment.unusable", OFF(kvm_segment, unusable), 22},      // 14 + 8 (type..avl)
    {"kvm_segment.padding", OFF(kvm_segment, padding), 23},        // 22 + 1 unusable
};

// struct kvm_sregs: 8 kvm_segment (cs ds es fs gs ss tr ldt) = 8 * 24 = 192, 2 kvm_dtable
// (base 8 + limit 2 + padding[3] 6 = 16) = 32, then 7 __u64 (cr0 cr2 cr3 cr4 cr8 efer
// apic_base) = 56, then interrupt_bitmap[(256 + 63) / 64 = 4] = 32: 192 + 32 + 56 + 32 = 312.
static const struct layout_fact kvm_sregs_facts[] = {
    {"sizeof(struct kvm_sregs)", sizeof(struct kvm_sregs), 312},   // 280 + 4 * 8 interrupt_bitmap
    {"kvm_sregs.cs", OFF(kvm_sregs, cs), 0},
    {"kvm_sregs.ds", OFF(kvm_sregs, ds), 24},                      // 1 * 24
    {"kvm_sregs.ss", OFF(kvm_sregs, ss), 120},                     // 5 * 24 (cs ds es fs gs)
    {"kvm_sregs.tr", OFF(kvm_sregs, tr), 144},                     // 6 * 24 (cs..ss)
    {"kvm_sregs.ldt", OFF(kvm_sregs, ldt), 168},                   // 7 * 24
    {"kvm_sregs.gdt", OFF(kvm_sregs, gdt), 192},                   // 8 * 24 (cs..ldt)
    {"kvm_sregs.idt", OFF(kvm_sregs, idt), 208},                   // 192 + 16 gdt
    {"kvm_sregs.cr0", OFF(kvm_sregs, cr0), 224},                   // 192 + 2 * 16 (gdt idt)
    {"kvm_sregs.cr3", OFF(kvm_sregs, cr3), 240},                   // 224 + 8 cr0 + 8 cr2
    {"kvm_sregs.cr4", OFF(kvm_sregs, cr4), 248},                   // 240 + 8 cr3
    {"kvm_sregs.efer", OFF(kvm_sregs, efer), 264},                 // 224 + 5 * 8 (cr0 cr2 cr3 cr4 cr8)
    {"kvm_sregs.apic_base", OFF(kvm_sregs, apic_base), 272},       // 264 + 8 efer
    {"kvm_sregs.interrupt_bitmap", OFF(kvm_sregs, interrupt_bitmap), 280},  // 272 + 8 apic_base
};

// struct kvm_vcpu_events: exception {injected nr has_error_code pending (1 each),
// error_code(4)} = 8, interrupt {4 x u8} = 4, nmi {4 x u8} = 4, sipi_vector(4), flags(4),
// smi {4 x u8} = 4, triple_fault {u8} = 1, reserved[26], exception_has_payload(1),
// exception_payload(8): 8 + 4 + 4 + 4 + 4 + 4 + 1 + 26 + 1 = 56, + 8 = 64.
static const struct layout_fact kvm_vcpu_events_facts[] = {
    {"sizeof(struct kvm_vcpu_events)", sizeof(struct kvm_vcpu_events), 64},  // 56 + 8 exception_payload
    {"kvm_vcpu_events.exception", OFF(kvm_vcpu_events, exception), 0},
    {"kvm_vcpu_events.exception.error_code", OFF(kvm_vcpu_events, exception.error_code), 4},  // 4 x u8
    {"kvm_vcpu_events.interrupt", OFF(kvm_vcpu_events, interrupt), 8},  // 8 exception
    {"kvm_vcpu_events.nmi", OFF(kvm_vcpu_events, nmi), 12},             // 8 + 4 interrupt
    {"kvm_vcpu_events.sipi_vector", OFF(kvm_vcpu_events, sipi_vector), 16},  // 12 + 4 nmi
    {"kvm_vcpu_events.flags", OFF(kvm_vcpu_events, flags), 20},         // 16 + 4 sipi_vector
    {"kvm_vcpu_events.smi", OFF(kvm_vcpu_events, smi), 24},             // 20 + 4 flags
    {"kvm_vcpu_events.triple_fault", OFF(kvm_vcpu_events, triple_fault), 28},  // 24 + 4 smi
    {"kvm_vcpu_events.reserved", OFF(kvm_vcpu_events, reserved), 29},   // 28 + 1 triple_fault
    {"kvm_vcpu_events.exception_has_payload", OFF(kvm_vcpu_events, exception_has_payload), 55},  // 29 + 26
    {"kvm_vcpu_events.exception_payload", OFF(kvm_vcpu_events, exception_payload), 56},  // 55 + 1, 8-aligned
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct { const struct layout_fact *facts; size_t count; } all_facts[] = {
    {kvm_run_facts, COUNT(kvm_run_facts)},
    {kvm_regs_facts, COUNT(kvm_regs_facts)},
    {kvm_segment_facts, COUNT(kvm_segment_facts)},
    {kvm_sregs_facts, COUNT(kvm_sregs_facts)},
    {kvm_vcpu_events_facts, COUNT(kvm_vcpu_events_facts)},
};

// Names ckvm_layout does not know return (size_t)-1; some of the facts above (e.g.
// kvm_segment.base) are checked here only against the compiler.
#define UNKNOWN ((size_t)-1)

static void check_facts(const struct layout_fact *facts, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const struct layout_fact *f = &facts[i];
        if (f->actual != f->expected)
            fail_msg("%s: the compiler says %zu, the x86-64 ABI says %zu", f->name, f->actual, f->expected);
        size_t shim = ckvm_layout(f->name);
        if (shim != UNKNOWN && shim != f->expected)
            fail_msg("ckvm_layout(\"%s\") = %zu, the x86-64 ABI says %zu", f->name, shim, f->expected);
    }
}

static void layout_kvm_run(void **state) { (void)state; check_facts(kvm_run_facts, COUNT(kvm_run_facts)); }
static void layout_kvm_regs(void **state) { (void)state; check_facts(kvm_regs_facts, COUNT(kvm_regs_facts)); }
static void layout_kvm_segment(void **state) { (void)state; check_facts(kvm_segment_facts, COUNT(kvm_segment_facts)); }
static void layout_kvm_sregs(void **state) { (void)state; check_facts(kvm_sregs_facts, COUNT(kvm_sregs_facts)); }
static void layout_kvm_vcpu_events(void **state) {
    (void)state;
    check_facts(kvm_vcpu_events_facts, COUNT(kvm_vcpu_events_facts));
}

static const struct layout_fact *find_fact(const char *name) {
    for (size_t g = 0; g < COUNT(all_facts); g++)
        for (size_t i = 0; i < all_facts[g].count; i++)
            if (strcmp(all_facts[g].facts[i].name, name) == 0) return &all_facts[g].facts[i];
    return NULL;
}

// Every name in ckvm.c's LAYOUT(...) table has a hand-derived fact above (so a name added to
// the shim without a test fails here), and ckvm_layout answers it with that fact.
static void layout_table_is_covered(void **state) {
    (void)state;
    FILE *f = fopen(CKVM_SOURCE, "r");
    if (!f) fail_msg("cannot read %s: %s", CKVM_SOURCE, strerror(errno));
    char line[512];
    int names = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "LAYOUT(\"");
        if (!p) continue;
        p += strlen("LAYOUT(\"");
        char *end = strchr(p, '"');
        if (!end) continue;
        *end = '\0';
        names++;
        const struct layout_fact *fact = find_fact(p);
        if (!fact) fail_msg("ckvm_layout knows \"%s\" but this test has no hand-derived value for it", p);
        size_t shim = ckvm_layout(p);
        if (shim != fact->expected)
            fail_msg("ckvm_layout(\"%s\") = %zu, expected %zu", p, shim, fact->expected);
    }
    fclose(f);
    // ckvm.c's table has 43 names today; fewer means the parsing above broke.
    if (names < 43) fail_msg("found only %d LAYOUT names in %s", names, CKVM_SOURCE);
    assert_int_equal(ckvm_layout("no.such.field"), UNKNOWN);
    assert_int_equal(ckvm_layout(""), UNKNOWN);
}

// --- errno mapping on bad and non-KVM fds -----------------------------------------------------

// Calls every fd-taking wrapper on `fd` and expects `want` from each (arguments are valid
// zeroed structs, so only the fd can be wrong).
static void every_wrapper_returns(int fd, int want) {
    struct kvm_regs regs = {0};
    struct kvm_sregs sregs = {0};
    struct kvm_fpu fpu = {0};
    struct kvm_vcpu_events events = {0};
    struct kvm_interrupt irq = {0};
    struct kvm_guest_debug debug = {0};
    struct kvm_mp_state mp = {0};
    struct kvm_debugregs dbg = {0};
    struct kvm_xcrs xcrs = {0};
    static struct kvm_xsave xsave;
    struct kvm_translation tr = {0};
    struct kvm_reinject_control reinject = {0};
    struct kvm_clock_data clock = {0};
    struct kvm_tpr_access_ctl tac = {0};
    uint64_t mce = 0;
    struct kvm_x86_mce x86_mce = {0};
    static struct kvm_lapic_state lapic;
    static struct kvm_irqchip irqchip;
    struct kvm_pit_state2 pit2 = {0};
    struct kvm_pit_state pit1 = {0};
    struct kvm_sregs2 sregs2 = {0};
    struct { struct kvm_cpuid hdr; struct kvm_cpuid_entry e[1]; } cpuid1 = {.hdr.nent = 1};
    struct kvm_userspace_memory_region region = {0};
    struct kvm_pit_config pit = {0};
    struct kvm_irq_level level = {0};
    struct kvm_msi msi = {0};
    struct kvm_dirty_log log = {0};
    struct kvm_clear_dirty_log clear = {0};
    struct kvm_ioeventfd ioev = {0};
    struct kvm_irqfd irqfd = {0};
    struct kvm_irq_routing_entry route = {0};
    struct kvm_coalesced_mmio_zone zone = {0};
    struct kvm_enable_cap cap = {0};
    static struct kvm_msr_filter filter;
    uint64_t attr_value = 0;
    struct kvm_device_attr attr = {.addr = (uint64_t)(uintptr_t)&attr_value};
    uint64_t events1[1] = {0};
    struct { struct kvm_cpuid2 hdr; struct kvm_cpuid_entry2 e[4]; } cpuid = {.hdr.nent = 4};
    struct { struct kvm_msr_list hdr; uint32_t idx[4]; } msr_list = {.hdr.nmsrs = 4};
    struct { struct kvm_msrs hdr; struct kvm_msr_entry e[1]; } msrs = {.hdr.nmsrs = 1};

#define EXPECT(call) do { \
        int r_ = (call); \
        if (r_ != want) fail_msg("%s on fd %d returned %d, expected %d", #call, fd, r_, want); \
    } while (0)
    EXPECT(ckvm_get_api_version(fd));
    EXPECT(ckvm_check_extension(fd, KVM_CAP_USER_MEMORY));
    EXPECT(ckvm_create_vm(fd, 0));
    EXPECT(ckvm_get_vcpu_mmap_size(fd));
    EXPECT(ckvm_get_supported_cpuid(fd, &cpuid.hdr));
    EXPECT(ckvm_get_msr_index_list(fd, &msr_list.hdr));
    EXPECT(ckvm_get_msr_feature_index_list(fd, &msr_list.hdr));
    EXPECT(ckvm_set_user_memory_region(fd, &region));
    EXPECT(ckvm_create_vcpu(fd, 0));
    EXPECT(ckvm_create_irqchip(fd));
    EXPECT(ckvm_create_pit2(fd, &pit));
    EXPECT(ckvm_irq_line(fd, &level));
    EXPECT(ckvm_signal_msi(fd, &msi));
    EXPECT(ckvm_get_dirty_log(fd, &log));
    EXPECT(ckvm_set_tss_addr(fd, 0xfffbd000));
    EXPECT(ckvm_set_identity_map_addr(fd, 0xfffbc000));
    EXPECT(ckvm_get_stats_fd(fd));
    EXPECT(ckvm_run(fd));
    EXPECT(ckvm_get_regs(fd, &regs));
    EXPECT(ckvm_set_regs(fd, &regs));
    EXPECT(ckvm_get_sregs(fd, &sregs));
    EXPECT(ckvm_set_sregs(fd, &sregs));
    EXPECT(ckvm_get_fpu(fd, &fpu));
    EXPECT(ckvm_set_fpu(fd, &fpu));
    EXPECT(ckvm_get_msrs(fd, &msrs.hdr));
    EXPECT(ckvm_set_msrs(fd, &msrs.hdr));
    EXPECT(ckvm_set_cpuid2(fd, &cpuid.hdr));
    EXPECT(ckvm_get_vcpu_events(fd, &events));
    EXPECT(ckvm_set_vcpu_events(fd, &events));
    EXPECT(ckvm_interrupt(fd, &irq));
    EXPECT(ckvm_nmi(fd));
    EXPECT(ckvm_set_guest_debug(fd, &debug));
    EXPECT(ckvm_get_mp_state(fd, &mp));
    EXPECT(ckvm_set_mp_state(fd, &mp));
    EXPECT(ckvm_get_debugregs(fd, &dbg));
    EXPECT(ckvm_set_debugregs(fd, &dbg));
    EXPECT(ckvm_get_xcrs(fd, &xcrs));
    EXPECT(ckvm_set_xcrs(fd, &xcrs));
    EXPECT(ckvm_get_xsave(fd, &xsave));
    EXPECT(ckvm_get_xsave2(fd, &xsave));
    EXPECT(ckvm_set_xsave(fd, &xsave));
    EXPECT(ckvm_get_cpuid2(fd, &cpuid.hdr));
    EXPECT(ckvm_translate(fd, &tr));
    EXPECT(ckvm_kvmclock_ctrl(fd));
    EXPECT(ckvm_set_boot_cpu_id(fd, 0));
    EXPECT(ckvm_get_tsc_khz(fd));
    EXPECT(ckvm_set_tsc_khz(fd, 1000000));
    EXPECT(ckvm_get_emulated_cpuid(fd, &cpuid.hdr));
    EXPECT(ckvm_get_mce_cap_supported(fd, &mce));
    EXPECT(ckvm_create_pit(fd));
    EXPECT(ckvm_reinject_control(fd, &reinject));
    EXPECT(ckvm_get_nr_mmu_pages(fd));
    EXPECT(ckvm_set_nr_mmu_pages(fd, 64));
    EXPECT(ckvm_get_clock(fd, &clock));
    EXPECT(ckvm_set_clock(fd, &clock));
    EXPECT(ckvm_tpr_access_reporting(fd, &tac));
    EXPECT(ckvm_setup_mce(fd, 1));
    EXPECT(ckvm_set_mce(fd, &x86_mce));
    EXPECT(ckvm_get_lapic(fd, &lapic));
    EXPECT(ckvm_set_lapic(fd, &lapic));
    EXPECT(ckvm_get_irqchip(fd, &irqchip));
    EXPECT(ckvm_set_irqchip(fd, &irqchip));
    EXPECT(ckvm_get_pit2(fd, &pit2));
    EXPECT(ckvm_set_pit2(fd, &pit2));
    EXPECT(ckvm_get_pit(fd, &pit1));
    EXPECT(ckvm_set_pit(fd, &pit1));
    EXPECT(ckvm_get_sregs2(fd, &sregs2));
    EXPECT(ckvm_set_sregs2(fd, &sregs2));
    EXPECT(ckvm_set_cpuid(fd, &cpuid1.hdr));
    EXPECT(ckvm_set_kick_signal_mask(fd, SIGUSR1));
    EXPECT(ckvm_has_device_attr(fd, &attr));
    EXPECT(ckvm_get_device_attr(fd, &attr));
    EXPECT(ckvm_set_device_attr(fd, &attr));
    EXPECT(ckvm_enable_cap(fd, &cap));
    EXPECT(ckvm_set_msr_filter(fd, &filter));
    EXPECT(ckvm_clear_dirty_log(fd, &clear));
    EXPECT(ckvm_irq_line_status(fd, &level));
    EXPECT(ckvm_ioeventfd(fd, &ioev));
    EXPECT(ckvm_irqfd(fd, &irqfd));
    EXPECT(ckvm_set_gsi_routing(fd, 1, 0, &route, 1));
    EXPECT(ckvm_set_gsi_routing(fd, 5000, 0, NULL, 0));
    EXPECT(ckvm_register_coalesced_mmio(fd, &zone));
    EXPECT(ckvm_unregister_coalesced_mmio(fd, &zone));
    EXPECT(ckvm_set_pmu_event_filter(fd, 0, 0, 0, 1, events1));
#undef EXPECT
}

static void bad_fd_is_ebadf(void **state) {
    (void)state;
    assert_int_equal(-EBADF, -9);
    every_wrapper_returns(-1, -EBADF);
    assert_int_equal(ckvm_close(-1), -EBADF);
    int err = 0;
    assert_null(ckvm_mmap_run(-1, 4096, &err));
    assert_int_equal(err, EBADF);
}

static void non_kvm_fd_is_enotty(void **state) {
    (void)state;
    int fd = ckvm_open("/dev/null");
    assert_true(fd >= 0);
    every_wrapper_returns(fd, -ENOTTY);
    assert_int_equal(ckvm_close(fd), 0);
    assert_int_equal(ckvm_close(fd), -EBADF);   // and a closed fd is a bad fd
}

static void open_missing_is_enoent(void **state) {
    (void)state;
    assert_int_equal(ckvm_open("/nonexistent"), -ENOENT);
    assert_int_equal(ckvm_open("/nonexistent/dev/kvm"), -ENOENT);
}

static void signal_helpers_map_errno(void **state) {
    (void)state;
    assert_int_equal(ckvm_install_kick_handler(SIGKILL), -EINVAL);   // SIGKILL cannot be caught
    assert_int_equal(ckvm_install_kick_handler(SIGUSR1), 0);
    assert_int_equal(ckvm_install_kick_handler(SIGUSR1), 0);         // idempotent
    assert_int_equal(ckvm_kick(ckvm_self(), 9999), -EINVAL);         // no such signal
    assert_int_equal(ckvm_munmap((void *)1, 4096), -EINVAL);          // misaligned address
}

// A kick that arrives while blocked stays pending until ckvm_drain_kick consumes it.
static void drain_kick_consumes_one_pending_kick(void **state) {
    (void)state;
    assert_int_equal(ckvm_install_kick_handler(SIGUSR1), 0);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
    assert_int_equal(ckvm_drain_kick(SIGUSR1), 0);                   // nothing pending
    assert_int_equal(ckvm_kick(ckvm_self(), SIGUSR1), 0);
    assert_int_equal(ckvm_drain_kick(SIGUSR1), 1);                   // the kick, consumed
    assert_int_equal(ckvm_drain_kick(SIGUSR1), 0);                   // and gone
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

// --- errno mapping on a real /dev/kvm ----------------------------------------------------------

// Opens /dev/kvm, or skips the calling test with the reason printed.
static int kvm_or_skip(void) {
    int fd = ckvm_open("/dev/kvm");
    if (fd < 0) {
        print_message("[   INFO   ] no usable /dev/kvm (%s): skipped\n", strerror(-fd));
        skip();
    }
    return fd;
}

static int vm_or_fail(int kvm) {
    int vm = ckvm_create_vm(kvm, 0);
    if (vm < 0) fail_msg("KVM_CREATE_VM: %s", strerror(-vm));
    return vm;
}

static void kvm_api_version_is_12(void **state) {
    (void)state;
    int kvm = kvm_or_skip();
    assert_int_equal(ckvm_get_api_version(kvm), 12);
    assert_true(ckvm_get_vcpu_mmap_size(kvm) >= (int)sizeof(struct kvm_run));
    assert_int_equal(ckvm_close(kvm), 0);
}

static void kvm_duplicate_vcpu_is_eexist(void **state) {
    (void)state;
    int kvm = kvm_or_skip();
    int vm = vm_or_fail(kvm);
    int vcpu = ckvm_create_vcpu(vm, 0);
    assert_true(vcpu >= 0);
    assert_int_equal(ckvm_create_vcpu(vm, 0), -EEXIST);
    ckvm_close(vcpu);
    ckvm_close(vm);
    ckvm_close(kvm);
}

static void kvm_memory_slot_errors(void **state) {
    (void)state;
    int kvm = kvm_or_skip();
    int vm = vm_or_fail(kvm);
    size_t size = 0x20000;
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    uint64_t host = (uint64_t)(uintptr_t)mem;

    struct kvm_userspace_memory_region r0 = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = 0x10000, .userspace_addr = host};
    assert_int_equal(ckvm_set_user_memory_region(vm, &r0), 0);
    // Slot 1 at GPA 0x8000 overlaps slot 0's [0, 0x10000).
    struct kvm_userspace_memory_region overlap = {
        .slot = 1, .guest_phys_addr = 0x8000, .memory_size = 0x10000, .userspace_addr = host + 0x10000};
    assert_int_equal(ckvm_set_user_memory_region(vm, &overlap), -EEXIST);
    // Not page-aligned: GPA, then size.
    struct kvm_userspace_memory_region misaligned = {
        .slot = 2, .guest_phys_addr = 0x100001, .memory_size = 0x1000, .userspace_addr = host + 0x10000};
    assert_int_equal(ckvm_set_user_memory_region(vm, &misaligned), -EINVAL);
    misaligned.guest_phys_addr = 0x100000;
    misaligned.memory_size = 0x1001;
    assert_int_equal(ckvm_set_user_memory_region(vm, &misaligned), -EINVAL);
    // The same slot, aligned and disjoint, is accepted: only the faults above were wrong.
    misaligned.memory_size = 0x1000;
    assert_int_equal(ckvm_set_user_memory_region(vm, &misaligned), 0);

    ckvm_close(vm);
    munmap(mem, size);
    ckvm_close(kvm);
}

static void kvm_irqchip_after_vcpu_is_einval(void **state) {
    (void)state;
    int kvm = kvm_or_skip();
    int vm = vm_or_fail(kvm);
    int vcpu = ckvm_create_vcpu(vm, 0);
    assert_true(vcpu >= 0);
    assert_int_equal(ckvm_create_irqchip(vm), -EINVAL);
    ckvm_close(vcpu);
    ckvm_close(vm);
    ckvm_close(kvm);
}

// KVM_SET_GSI_ROUTING through the flexible-array builder (virt/kvm/kvm_main.c
// kvm_vm_ioctl, irqchip.c kvm_set_irq_routing): EINVAL without an in-kernel irqchip, for
// flags, for more than KVM_MAX_IRQ_ROUTES entries and for a PIC pin above 7; 0 otherwise.
static void kvm_gsi_routing_errors(void **state) {
    (void)state;
    int kvm = kvm_or_skip();
    int vm = vm_or_fail(kvm);
    struct kvm_irq_routing_entry e[2] = {0};
    e[0].gsi = 5; e[0].type = KVM_IRQ_ROUTING_IRQCHIP;
    e[0].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC; e[0].u.irqchip.pin = 5;
    e[1].gsi = 40; e[1].type = KVM_IRQ_ROUTING_MSI;
    e[1].u.msi.address_lo = 0xFEE00000; e[1].u.msi.data = 0x41;
    assert_int_equal(ckvm_set_gsi_routing(vm, 2, 0, e, 2), -EINVAL);      // no irqchip yet
    assert_int_equal(ckvm_create_irqchip(vm), 0);
    assert_int_equal(ckvm_set_gsi_routing(vm, 2, 0, e, 2), 0);
    assert_int_equal(ckvm_set_gsi_routing(vm, 2, 1, e, 2), -EINVAL);      // flags
    assert_int_equal(ckvm_set_gsi_routing(vm, 4097, 0, e, 2), -EINVAL);   // > KVM_MAX_IRQ_ROUTES
    e[0].u.irqchip.irqchip = KVM_IRQCHIP_PIC_MASTER; e[0].u.irqchip.pin = 8;
    assert_int_equal(ckvm_set_gsi_routing(vm, 1, 0, e, 1), -EINVAL);      // PIC pins 0-7
    assert_int_equal(ckvm_set_gsi_routing(vm, 0, 0, NULL, 0), 0);         // an empty table
    ckvm_close(vm);
    ckvm_close(kvm);
}

// KVM_GET_XSAVE2 with a buffer of KVM_CAP_XSAVE2 bytes (x86.c kvm_arch_vcpu_ioctl): 0, and
// the image is KVM_GET_XSAVE's (a new vCPU: MXCSR 1F80H at byte 24).
static void kvm_get_xsave2_fills_cap_size(void **state) {
    (void)state;
    int kvm = kvm_or_skip();
    int vm = vm_or_fail(kvm);
    int size = ckvm_check_extension(vm, KVM_CAP_XSAVE2);
    assert_true(size >= 4096);
    int vcpu = ckvm_create_vcpu(vm, 0);
    assert_true(vcpu >= 0);
    unsigned char *buf = calloc(1, (size_t)size);
    assert_non_null(buf);
    assert_int_equal(ckvm_get_xsave2(vcpu, buf), 0);
    uint32_t mxcsr;
    memcpy(&mxcsr, buf + 24, sizeof mxcsr);
    assert_int_equal(mxcsr, 0x1F80);
    free(buf);
    ckvm_close(vcpu);
    ckvm_close(vm);
    ckvm_close(kvm);
}

static void kvm_kick_signal_mask_and_drain(void **state) {
    (void)state;
    int kvm = kvm_or_skip();
    int vm = vm_or_fail(kvm);
    int vcpu = ckvm_create_vcpu(vm, 0);
    assert_true(vcpu >= 0);
    assert_int_equal(ckvm_install_kick_handler(SIGUSR1), 0);
    assert_int_equal(ckvm_set_kick_signal_mask(vcpu, SIGUSR1), 0);
    assert_int_equal(ckvm_drain_kick(SIGUSR1), 0);   // nothing pending
    // The VM fd is not a vCPU fd: KVM_SET_SIGNAL_MASK is a vCPU ioctl.
    assert_int_equal(ckvm_set_kick_signal_mask(vm, SIGUSR1), -ENOTTY);
    ckvm_close(vcpu);
    ckvm_close(vm);
    ckvm_close(kvm);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_kvm_run),
        cmocka_unit_test(layout_kvm_regs),
        cmocka_unit_test(layout_kvm_segment),
        cmocka_unit_test(layout_kvm_sregs),
        cmocka_unit_test(layout_kvm_vcpu_events),
        cmocka_unit_test(layout_table_is_covered),
        cmocka_unit_test(bad_fd_is_ebadf),
        cmocka_unit_test(non_kvm_fd_is_enotty),
        cmocka_unit_test(open_missing_is_enoent),
        cmocka_unit_test(signal_helpers_map_errno),
        cmocka_unit_test(drain_kick_consumes_one_pending_kick),
        cmocka_unit_test(kvm_api_version_is_12),
        cmocka_unit_test(kvm_duplicate_vcpu_is_eexist),
        cmocka_unit_test(kvm_memory_slot_errors),
        cmocka_unit_test(kvm_irqchip_after_vcpu_is_einval),
        cmocka_unit_test(kvm_gsi_routing_errors),
        cmocka_unit_test(kvm_get_xsave2_fills_cap_size),
        cmocka_unit_test(kvm_kick_signal_mask_and_drain),
    };
    return cmocka_run_group_tests_name("CKVM shim", tests, NULL, NULL);
}

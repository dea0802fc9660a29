/* The simulated hypervisor's shared state file: the domain table, hypercall
 * counters and fault injection. It is mapped MAP_SHARED by the fake
 * hypervisor (inside every process that makes hypercalls) and by whoever
 * drives the simulated host (sim/hypervisor_state.h).
 *
 * Layout: struct xlsim_header at offset 0 (XLSIM_HEADER_SIZE bytes), then
 * XLSIM_NDOM struct xlsim_domain, indexed by domid. A domain exists iff its
 * bit is set in header.present.
 *
 * Locking: flock(LOCK_EX) to mutate, LOCK_SH to read. Every mutation of the
 * domain table increments header.generation and FUTEX_WAKEs it (a shared
 * futex: waiters in other processes see it). header.dom_exc is a second
 * futex word, bumped only where Xen sends VIRQ_DOM_EXC (a domain shut down,
 * killed or freed); the fake VIRQ_DOM_EXC inside xenstored waits on it.
 * Counters and faults are updated with atomics, without the lock.
 *
 * C and C++: the fake hypervisor is C, the driver C++. */
#ifndef XENLET_SIM_STATE_LAYOUT_H_
#define XENLET_SIM_STATE_LAYOUT_H_

#include <linux/futex.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif
/* clang-format off: xen.h first, the others need its definitions. */
// clang-format off
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sched.h>
#include <xen/sysctl.h>
// clang-format on
#ifdef __cplusplus
}
#endif

/* The environment variable naming the state file. */
#define XLSIM_STATE_ENV "XENLET_SIM_STATE"
/* "XLSIMST1" */
#define XLSIM_MAGIC 0x315453494d534c58ULL
#define XLSIM_LAYOUT_VERSION 3
#define XLSIM_NDOM DOMID_FIRST_RESERVED
#define XLSIM_HEADER_SIZE 16384

/* Hypercall kinds, counted and fault-injected separately. The first eight
 * are in the order of xenlet::xen::HypercallKind. */
enum xlsim_call {
  XLSIM_CALL_GETDOMAININFOLIST = 0,
  XLSIM_CALL_GETDOMAININFO,
  XLSIM_CALL_PHYSINFO,
  XLSIM_CALL_VERSION,
  XLSIM_CALL_PAUSE,
  XLSIM_CALL_UNPAUSE,
  XLSIM_CALL_DESTROY,
  XLSIM_CALL_SHUTDOWN,
  XLSIM_CALL_OTHER, /* anything else: answered ENOSYS/EOPNOTSUPP */
  XLSIM_CALL_RESUME,
  XLSIM_CALL_SUBSCRIBE,
  XLSIM_CALL_SOFT_RESET,
  XLSIM_CALL_HVM_PARAM,
  XLSIM_CALL_COUNT
};

struct xlsim_fault {
  int32_t err;       /* errno for the next `count` calls of the kind */
  uint32_t count;    /* decremented by each failed call */
  uint32_t delay_us; /* added to every call of the kind */
  uint32_t pad;
};

struct xlsim_domain {
  /* What getdomaininfo reports, except the fields derived below. */
  struct xen_domctl_getdomaininfo info;
  uint32_t pause_count; /* controller pause count: paused iff > 0 */
  uint32_t dying;       /* destroyed, not yet gone */
  uint32_t shut_down;   /* Xen's d->is_shut_down */
  /* Xen's d->shutdown_code: XLSIM_SHUTDOWN_CODE_INVALID while none was
   * given; set by the first shutdown (or SCHEDOP_shutdown_code) and kept. */
  uint32_t shutdown_code;
  uint64_t cpu_ns;         /* cpu time accumulated before runnable_since */
  uint64_t runnable_since; /* clock ns, 0 while not runnable */
  /* How busy the guest is: the share (per mille) of each scheduling period
   * its vCPUs run while they may; the rest they are blocked (an idle guest
   * is mostly blocked). 1000: always running. */
  uint32_t load_permille;
  /* Xen's d->suspend_evtchn (XEN_DOMCTL_subscribe): while set, the guest's
   * suspend is signalled there, not with VIRQ_DOM_EXC. */
  uint32_t suspend_evtchn;
  uint32_t has_run; /* has been runnable once (its PV drivers are up) */
  uint32_t pad1;
  /* When a dying domain vanishes (clock ns): Xen frees it once its last
   * reference goes. XLSIM_NEVER: a zombie, until HypervisorState's
   * ReapDomain (the last foreign mapping of its pages goes). */
  uint64_t gone_at_ns;
};

/* Xen's SHUTDOWN_CODE_INVALID (xen/include/xen/sched.h): all ones in an
 * unsigned int, so the 8-bit field of getdomaininfo's flags reads 255. */
#define XLSIM_SHUTDOWN_CODE_INVALID (~0u)
#define XLSIM_NEVER (~0ULL)

struct xlsim_header {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_size;
  uint32_t domain_size;
  uint32_t ndom;
  uint32_t generation; /* futex word: bumped by every table mutation */
  uint32_t nr_domains;
  uint32_t domid_rover; /* Xen's createdomain rover: last allocated domid */
  /* futex word: VIRQ_DOM_EXC sent (send_global_virq in Xen's domain.c). */
  uint32_t dom_exc;
  uint64_t calls[XLSIM_CALL_COUNT]; /* hypercalls answered, by kind */
  uint64_t ioctls;                  /* every ioctl on a fake device */
  uint64_t device_opens;
  struct xlsim_fault faults[XLSIM_CALL_COUNT];
  uint32_t xen_major;
  uint32_t xen_minor;
  char xen_extra[16];
  struct xen_sysctl_physinfo physinfo;
  /* SCHEDOP_remote_shutdown of dom0: on Xen, hwdom_shutdown() halts or
   * reboots the whole host. Recorded (count and the last reason) so that a
   * test can prove nobody ever asks for it. */
  uint32_t host_halts;
  uint32_t host_halt_reason;
  /* The domctl and sysctl interface versions this "Xen" accepts (EACCES
   * for others, as do_domctl/do_sysctl answer); 0: the ones of the headers
   * the fake is built with (Xen 4.17). Set to simulate another release. */
  uint32_t domctl_interface_version;
  uint32_t sysctl_interface_version;
  /* The simulated clock, ns: 0 follows CLOCK_MONOTONIC; otherwise time
   * stands still there (cpu time, running and blocked are then constant),
   * so that a test compares volatile fields exactly at a quiet point. */
  uint64_t frozen_clock_ns;
  /* Added to CLOCK_MONOTONIC after a thaw from a clock advanced by hand,
   * so that simulated time never goes backwards. */
  uint64_t clock_offset_ns;
  /* How long a destroyed domain stays dying before it vanishes (ns; 0:
   * at once, XLSIM_NEVER: a zombie), and how many dying domains wait for
   * their time (so that only then is the table scanned for them). */
  uint64_t dying_ns;
  uint32_t dying_pending;
  /* Set under the lock where Xen would send VIRQ_DOM_EXC; the unlock sends
   * it (bumps dom_exc and wakes its waiters) once. */
  uint32_t dom_exc_pending;
  uint64_t present[(XLSIM_NDOM + 63) / 64];
};

#ifdef __cplusplus
static_assert(sizeof(struct xlsim_header) <= XLSIM_HEADER_SIZE,
              "header too big");
#else
_Static_assert(sizeof(struct xlsim_header) <= XLSIM_HEADER_SIZE,
               "header too big");
#endif

#define XLSIM_FILE_SIZE \
  ((size_t)XLSIM_HEADER_SIZE + (size_t)XLSIM_NDOM * sizeof(struct xlsim_domain))

static inline struct xlsim_domain* xlsim_domains(struct xlsim_header* h) {
  return (struct xlsim_domain*)((char*)h + XLSIM_HEADER_SIZE);
}

static inline uint64_t xlsim_now_ns(const struct xlsim_header* h) {
  uint64_t frozen = __atomic_load_n(&h->frozen_clock_ns, __ATOMIC_ACQUIRE);
  if (frozen) return frozen;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec +
         __atomic_load_n(&h->clock_offset_ns, __ATOMIC_ACQUIRE);
}

/* Whether a dying domain's time has come: it is gone, whatever the bit. */
static inline int xlsim_gone(const struct xlsim_header* h, unsigned d) {
  const struct xlsim_domain* dom =
      (const struct xlsim_domain*)((const char*)h + XLSIM_HEADER_SIZE) + d;
  return dom->dying && dom->gone_at_ns != XLSIM_NEVER &&
         xlsim_now_ns(h) >= dom->gone_at_ns;
}

static inline int xlsim_present(const struct xlsim_header* h, unsigned d) {
  return d < XLSIM_NDOM && ((h->present[d / 64] >> (d % 64)) & 1) &&
         !xlsim_gone(h, d);
}

static inline void xlsim_set_present(struct xlsim_header* h, unsigned d,
                                     int on) {
  uint64_t bit = 1ULL << (d % 64);
  struct xlsim_domain* dom = xlsim_domains(h) + d;
  if (on && !(h->present[d / 64] & bit)) {
    h->present[d / 64] |= bit;
    h->nr_domains++;
  } else if (!on && (h->present[d / 64] & bit)) {
    h->present[d / 64] &= ~bit;
    h->nr_domains--;
    if (dom->dying && dom->gone_at_ns != XLSIM_NEVER) h->dying_pending--;
  }
}

/* The lowest present domid >= d, or XLSIM_NDOM if none. */
static inline unsigned xlsim_next(const struct xlsim_header* h, unsigned d) {
  while (d < XLSIM_NDOM) {
    uint64_t word = h->present[d / 64] >> (d % 64);
    if (word) {
      d += (unsigned)__builtin_ctzll(word);
      if (d >= XLSIM_NDOM) return XLSIM_NDOM;
      if (!xlsim_gone(h, d)) return d;
      ++d;
      continue;
    }
    d = (d / 64 + 1) * 64;
  }
  return XLSIM_NDOM;
}

/* Xen's send_global_virq(VIRQ_DOM_EXC), sent when the lock is released.
 * Call under the exclusive lock. */
static inline void xlsim_raise_dom_exc(struct xlsim_header* h) {
  h->dom_exc_pending = 1;
}

/* At unlock: a table change wakes the generation's waiters; a pending
 * VIRQ_DOM_EXC is sent to dom_exc's. */
static inline void xlsim_publish(struct xlsim_header* h, int changed) {
  if (changed) {
    __atomic_fetch_add(&h->generation, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &h->generation, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
  }
  if (h->dom_exc_pending) {
    h->dom_exc_pending = 0;
    __atomic_fetch_add(&h->dom_exc, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &h->dom_exc, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
  }
}

/* Frees the slots of dying domains whose time has come (Xen's
 * complete_domain_destroy, which sends VIRQ_DOM_EXC). Call under the
 * exclusive lock: a domain freed while nobody holds it is found, and its
 * VIRQ_DOM_EXC sent, at the next exclusive lock. */
static inline void xlsim_collect(struct xlsim_header* h) {
  if (!h->dying_pending) return;
  for (unsigned w = 0; w < (XLSIM_NDOM + 63) / 64; ++w) {
    uint64_t word = h->present[w];
    while (word) {
      unsigned d = w * 64 + (unsigned)__builtin_ctzll(word);
      word &= word - 1;
      if (xlsim_gone(h, d)) {
        xlsim_set_present(h, d, 0);
        xlsim_raise_dom_exc(h);
      }
    }
  }
}

/* XEN_DOMCTL_destroydomain (domain_kill): the domain is dying from now
 * (DOMDYING_dead, VIRQ_DOM_EXC), and vanishes after the host's dying time.
 * Call under the exclusive lock; again on a dying domain it changes
 * nothing. */
static inline void xlsim_kill(struct xlsim_header* h, unsigned domid) {
  struct xlsim_domain* d = xlsim_domains(h) + domid;
  if (d->dying) return;
  d->dying = 1;
  xlsim_raise_dom_exc(h);
  if (h->dying_ns == XLSIM_NEVER) {
    d->gone_at_ns = XLSIM_NEVER;
  } else {
    d->gone_at_ns = xlsim_now_ns(h) + h->dying_ns;
    h->dying_pending++;
  }
}

/* The scheduling period of the load model: within each, a runnable
 * domain's vCPUs run for load_permille of it, then block. Each domain's
 * periods are offset by its domid, so that a host shows a mix. */
#define XLSIM_PERIOD_NS 10000000ULL

static inline uint64_t xlsim_phase_ns(unsigned domid) {
  return ((uint64_t)domid * 7919ULL * 1000ULL) % XLSIM_PERIOD_NS;
}

/* Time the vCPUs of a domain of this load have run from its clock 0 to x
 * (ns), had it been runnable all along. */
static inline uint64_t xlsim_busy_ns(uint32_t load_permille, uint64_t x) {
  uint64_t duty = XLSIM_PERIOD_NS * load_permille / 1000;
  uint64_t in_period = x % XLSIM_PERIOD_NS;
  return (x / XLSIM_PERIOD_NS) * duty + (in_period < duty ? in_period : duty);
}

/* Whether a runnable domain's vCPUs are on a CPU at time now. */
static inline int xlsim_on_cpu(uint32_t load_permille, unsigned domid,
                               uint64_t now) {
  uint64_t duty = XLSIM_PERIOD_NS * load_permille / 1000;
  return (now + xlsim_phase_ns(domid)) % XLSIM_PERIOD_NS < duty;
}

/* CPU time (all vCPUs) run between two instants while runnable. */
static inline uint64_t xlsim_cpu_between(const struct xlsim_domain* d,
                                         unsigned domid, uint64_t from,
                                         uint64_t to) {
  uint64_t phase = xlsim_phase_ns(domid);
  return (uint64_t)d->info.nr_online_vcpus *
         (xlsim_busy_ns(d->load_permille, to + phase) -
          xlsim_busy_ns(d->load_permille, from + phase));
}

/* Whether the domain's vcpus run: not paused, shut down or dying. */
static inline int xlsim_runnable(const struct xlsim_domain* d) {
  return !d->pause_count && !d->shut_down && !d->dying;
}

/* Keeps cpu time accounting right across a change of xlsim_runnable():
 * call after every mutation of the domain. CPU time grows only while a
 * vCPU runs (Xen sums runstate.time[RUNSTATE_running]). */
static inline void xlsim_account(const struct xlsim_header* h, unsigned domid,
                                 struct xlsim_domain* d) {
  uint64_t now = xlsim_now_ns(h);
  if (d->runnable_since && !xlsim_runnable(d)) {
    d->cpu_ns += xlsim_cpu_between(d, domid, d->runnable_since, now);
    d->runnable_since = 0;
  } else if (!d->runnable_since && xlsim_runnable(d)) {
    d->runnable_since = now;
    d->has_run = 1;
  }
}

/* What XEN_DOMCTL_getdomaininfo reports for domain `domid`. */
static inline void xlsim_fill_info(struct xlsim_header* h, unsigned domid,
                                   struct xen_domctl_getdomaininfo* out) {
  struct xlsim_domain* d = &xlsim_domains(h)[domid];
  uint32_t keep = XEN_DOMINF_hvm_guest | XEN_DOMINF_hap | XEN_DOMINF_debugged |
                  XEN_DOMINF_xs_domain;
  *out = d->info;
  out->domain = (domid_t)domid;
  out->flags = d->info.flags & keep;
  if (d->dying) out->flags |= XEN_DOMINF_dying;
  if (d->shut_down) out->flags |= XEN_DOMINF_shutdown;
  if (d->pause_count) out->flags |= XEN_DOMINF_paused;
  /* Xen's getdomaininfo (domctl.c) ORs the whole shutdown code in, shifted:
   * a live domain's SHUTDOWN_CODE_INVALID sets every bit from 16 up. */
  out->flags |= d->shutdown_code << XEN_DOMINF_shutdownshift;
  /* Running if a vCPU is on a CPU, blocked if every online vCPU blocked,
   * neither without an online vCPU (Xen reports no scheduler flag then).
   * A runnable guest's vCPUs run or block as its load says; a paused,
   * shut-down or dying domain's vCPUs are paused, which is not blocked. */
  uint64_t now = xlsim_now_ns(h);
  if (d->info.nr_online_vcpus && xlsim_runnable(d)) {
    out->flags |= xlsim_on_cpu(d->load_permille, domid, now)
                      ? XEN_DOMINF_running
                      : XEN_DOMINF_blocked;
  }
  out->cpu_time = d->cpu_ns;
  if (d->runnable_since) {
    out->cpu_time += xlsim_cpu_between(d, domid, d->runnable_since, now);
  }
}

/* Xen's domain_shutdown() (common/domain.c), for any caller: the first
 * code given sticks; dom0's shutdown is the host's (hwdom_shutdown, here
 * recorded); the shutdown flag is set once. Once shut down, Xen's
 * __domain_finalise_shutdown sends VIRQ_DOM_EXC, except for a suspend
 * with a suspend event channel subscribed (signalled there instead).
 * Returns whether the domain shut down now. Call under the exclusive
 * lock. */
static inline int xlsim_shutdown(struct xlsim_header* h, unsigned domid,
                                 struct xlsim_domain* d, uint32_t reason) {
  if (d->shutdown_code == XLSIM_SHUTDOWN_CODE_INVALID)
    d->shutdown_code = reason & XEN_DOMINF_shutdownmask;
  if (domid == 0) {
    h->host_halts++;
    h->host_halt_reason = d->shutdown_code;
    /* The simulated host carries on (with dom0's code cleared again) so
     * that the test that asked can report it. */
    d->shutdown_code = XLSIM_SHUTDOWN_CODE_INVALID;
    return 0;
  }
  if (d->shut_down) return 0;
  d->shut_down = 1;
  xlsim_account(h, domid, d);
  if (!(d->shutdown_code == SHUTDOWN_suspend && d->suspend_evtchn))
    xlsim_raise_dom_exc(h);
  return 1;
}

/* Xen's domain_resume() (XEN_DOMCTL_resumedomain, and the end of a soft
 * reset): shutdown cleared, the code invalid again, vCPUs unpaused. */
static inline void xlsim_resume(const struct xlsim_header* h, unsigned domid,
                                struct xlsim_domain* d) {
  d->shut_down = 0;
  d->shutdown_code = XLSIM_SHUTDOWN_CODE_INVALID;
  xlsim_account(h, domid, d);
}

#endif /* XENLET_SIM_STATE_LAYOUT_H_ */

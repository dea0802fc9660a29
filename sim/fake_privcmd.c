/* The fake hypervisor: answers the privcmd ioctls that libxencall and
 * libxenctrl make, from the domain table in the state file named by
 * $XENLET_SIM_STATE (sim/state_layout.h). Loaded with LD_PRELOAD, or linked
 * into an executable with -Wl,--export-dynamic: either way its open(),
 * ioctl() and mmap() come first in every library's symbol lookup.
 *
 * Semantics follow Xen 4.17 (xen/common/domctl.c, sysctl.c, domain.c,
 * sched/core.c), see the comments at each hypercall. $XENLET_SIM_TRACE=1
 * logs every hypercall on stderr. */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include "sim/fake_privcmd.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sim/state_layout.h"

// clang-format off: after xen.h, which state_layout.h includes.
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/sched.h>
#include <xen/sys/privcmd.h>
#include <xen/version.h>
// clang-format on

/* ---- libc ----
 * Resolved lazily: the fake may run before any constructor. */
static int (*libc_open)(const char*, int, ...);
static int (*libc_openat)(int, const char*, int, ...);
static int (*libc_ioctl)(int, unsigned long, ...);
static void* (*libc_mmap)(void*, size_t, int, int, int, off_t);

static void resolve_libc(void) {
  if (!libc_open) libc_open = dlsym(RTLD_NEXT, "open");
  if (!libc_openat) libc_openat = dlsym(RTLD_NEXT, "openat");
  if (!libc_ioctl) libc_ioctl = dlsym(RTLD_NEXT, "ioctl");
  if (!libc_mmap) libc_mmap = dlsym(RTLD_NEXT, "mmap");
}

void* xlsim_real_mmap(void* addr, size_t len, int prot, int flags, int fd,
                      long off) {
  resolve_libc();
  return libc_mmap(addr, len, prot, flags, fd, off);
}

static int trace_flag = -1;

int xlsim_trace_enabled(void) {
  if (trace_flag < 0) {
    const char* e = getenv("XENLET_SIM_TRACE");
    trace_flag = e && e[0] == '1';
  }
  return trace_flag;
}

#define TRACE(...)                                           \
  do {                                                       \
    if (xlsim_trace_enabled()) fprintf(stderr, __VA_ARGS__); \
  } while (0)

/* ---- the state file ----
 * Bound when a Xen device is opened, and rebound there if $XENLET_SIM_STATE
 * names another file (a test process runs one simulated host after another).
 * An old mapping is never unmapped: a thread may still be using it. */
static pthread_mutex_t bind_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t state_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct xlsim_header* state;
static int state_fd = -1;
static char state_path[4096];

static int bind_state(void) {
  const char* path = getenv(XLSIM_STATE_ENV);
  if (!path || !*path) return state != NULL;
  pthread_mutex_lock(&bind_mutex);
  if (state && strcmp(path, state_path) == 0) {
    pthread_mutex_unlock(&bind_mutex);
    return 1;
  }
  resolve_libc();
  int fd = libc_open(path, O_RDWR | O_CLOEXEC);
  void* map = MAP_FAILED;
  if (fd >= 0) {
    map = libc_mmap(NULL, XLSIM_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                    fd, 0);
  }
  if (map == MAP_FAILED) {
    fprintf(stderr, "[xenlet-sim] cannot map %s: %s\n", path, strerror(errno));
    if (fd >= 0) close(fd);
    pthread_mutex_unlock(&bind_mutex);
    return state != NULL;
  }
  struct xlsim_header* h = map;
  if (h->magic != XLSIM_MAGIC || h->layout_version != XLSIM_LAYOUT_VERSION ||
      h->domain_size != sizeof(struct xlsim_domain)) {
    fprintf(stderr, "[xenlet-sim] %s is not a state file of this layout\n",
            path);
    munmap(map, XLSIM_FILE_SIZE);
    close(fd);
    pthread_mutex_unlock(&bind_mutex);
    return state != NULL;
  }
  pthread_mutex_lock(&state_mutex);
  snprintf(state_path, sizeof(state_path), "%s", path);
  __atomic_store_n(&state_fd, fd, __ATOMIC_RELEASE);
  __atomic_store_n(&state, h, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&state_mutex);
  pthread_mutex_unlock(&bind_mutex);
  TRACE("[xenlet-sim] state %s\n", path);
  return 1;
}

struct xlsim_header* xlsim_state(void) {
  struct xlsim_header* h = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
  if (!h && bind_state()) h = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
  return h;
}

/* The process mutex as well as flock: flock belongs to the open file, which
 * all threads share. */
void xlsim_lock(int exclusive) {
  pthread_mutex_lock(&state_mutex);
  while (flock(state_fd, exclusive ? LOCK_EX : LOCK_SH) != 0 &&
         errno == EINTR) {
  }
  /* Dying domains whose time has come are gone: free their slots. */
  if (exclusive) xlsim_collect(state);
}

void xlsim_unlock(int bump) {
  xlsim_publish(state, bump);
  flock(state_fd, LOCK_UN);
  pthread_mutex_unlock(&state_mutex);
}

/* ---- fake device fds ----
 * Each open of /dev/xen/privcmd or /dev/xen/hypercall returns a memfd marked
 * by its mode and size. The kernel keeps the mark, so dup(), fork() and
 * close() need no bookkeeping here. */
enum device_kind { DEV_NONE = 0, DEV_PRIVCMD = 1, DEV_HYPERCALL = 2 };
#define DEV_MODE (S_IFREG | S_ISVTX | 0600)
#define DEV_SIZE_BASE 0x7a1000L

static int any_device_opened;

static enum device_kind device_of_path(const char* path) {
  if (!path) return DEV_NONE;
  if (!strcmp(path, "/dev/xen/privcmd") || !strcmp(path, "/proc/xen/privcmd"))
    return DEV_PRIVCMD;
  if (!strcmp(path, "/dev/xen/hypercall")) return DEV_HYPERCALL;
  return DEV_NONE;
}

static enum device_kind device_of_fd(int fd) {
  struct stat st;
  if (fd < 0 || !__atomic_load_n(&any_device_opened, __ATOMIC_RELAXED))
    return DEV_NONE;
  if (fstat(fd, &st) != 0 || st.st_mode != DEV_MODE || st.st_nlink != 0)
    return DEV_NONE;
  long kind = (long)st.st_size - DEV_SIZE_BASE;
  return kind == DEV_PRIVCMD || kind == DEV_HYPERCALL ? (enum device_kind)kind
                                                      : DEV_NONE;
}

static int open_device(enum device_kind kind, int flags) {
  /* No state file: behave like a host without Xen. */
  if (!bind_state()) {
    errno = ENOENT;
    return -1;
  }
  int fd =
      memfd_create("xenlet-sim-dev", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
  if (fd < 0) return -1;
  if (fchmod(fd, DEV_MODE & 07777) != 0 ||
      ftruncate(fd, DEV_SIZE_BASE + kind) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  __atomic_store_n(&any_device_opened, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&xlsim_state()->device_opens, 1, __ATOMIC_RELAXED);
  TRACE("[xenlet-sim] open %s -> %d\n",
        kind == DEV_PRIVCMD ? "privcmd" : "hypercall", fd);
  return fd;
}

/* ---- hypercalls: each returns >= 0 or -errno, as Xen does ---- */
#define COUNT(h, kind) \
  __atomic_fetch_add(&(h)->calls[kind], 1, __ATOMIC_RELAXED)

/* Injected delay, then an injected error if one is armed for this kind. */
static int inject(struct xlsim_header* h, enum xlsim_call kind) {
  struct xlsim_fault* f = &h->faults[kind];
  uint32_t delay = __atomic_load_n(&f->delay_us, __ATOMIC_RELAXED);
  if (delay) usleep(delay);
  int err = __atomic_load_n(&f->err, __ATOMIC_RELAXED);
  if (!err) return 0;
  uint32_t left = __atomic_load_n(&f->count, __ATOMIC_RELAXED);
  while (left) {
    if (__atomic_compare_exchange_n(&f->count, &left, left - 1, 0,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return -err;
  }
  return 0;
}

static long sysctl_op(struct xlsim_header* h, struct xen_sysctl* op) {
  enum xlsim_call kind = op->cmd == XEN_SYSCTL_getdomaininfolist
                             ? XLSIM_CALL_GETDOMAININFOLIST
                         : op->cmd == XEN_SYSCTL_physinfo ? XLSIM_CALL_PHYSINFO
                                                          : XLSIM_CALL_OTHER;
  COUNT(h, kind);
  long ret = inject(h, kind);
  if (ret) return ret;
  uint32_t want = h->sysctl_interface_version ? h->sysctl_interface_version
                                              : XEN_SYSCTL_INTERFACE_VERSION;
  if (op->interface_version != want) return -EACCES;
  switch (op->cmd) {
    case XEN_SYSCTL_getdomaininfolist: {
      /* One pass under one lock, from first_domain up: a consistent view. */
      struct xen_sysctl_getdomaininfolist* l = &op->u.getdomaininfolist;
      struct xen_domctl_getdomaininfo* out = l->buffer.p;
      uint32_t n = 0;
      xlsim_lock(0);
      for (unsigned d = xlsim_next(h, l->first_domain);
           d < XLSIM_NDOM && n < l->max_domains; d = xlsim_next(h, d + 1))
        xlsim_fill_info(h, d, &out[n++]);
      xlsim_unlock(0);
      l->num_domains = n;
      return 0;
    }
    case XEN_SYSCTL_physinfo:
      xlsim_lock(0);
      op->u.physinfo = h->physinfo;
      xlsim_unlock(0);
      return 0;
    default:
      return -EOPNOTSUPP;
  }
}

static long domctl_op(struct xlsim_header* h, struct xen_domctl* op) {
  enum xlsim_call kind;
  switch (op->cmd) {
    case XEN_DOMCTL_getdomaininfo:
      kind = XLSIM_CALL_GETDOMAININFO;
      break;
    case XEN_DOMCTL_pausedomain:
      kind = XLSIM_CALL_PAUSE;
      break;
    case XEN_DOMCTL_unpausedomain:
      kind = XLSIM_CALL_UNPAUSE;
      break;
    case XEN_DOMCTL_destroydomain:
      kind = XLSIM_CALL_DESTROY;
      break;
    case XEN_DOMCTL_resumedomain:
      kind = XLSIM_CALL_RESUME;
      break;
    case XEN_DOMCTL_subscribe:
      kind = XLSIM_CALL_SUBSCRIBE;
      break;
    case XEN_DOMCTL_soft_reset:
      kind = XLSIM_CALL_SOFT_RESET;
      break;
    default:
      kind = XLSIM_CALL_OTHER;
  }
  COUNT(h, kind);
  long ret = inject(h, kind);
  if (ret) return ret;
  uint32_t want = h->domctl_interface_version ? h->domctl_interface_version
                                              : XEN_DOMCTL_INTERFACE_VERSION;
  if (op->interface_version != want) return -EACCES;
  unsigned domid = op->domain;
  if (kind == XLSIM_CALL_GETDOMAININFO) {
    /* A missing domid is answered with the next domain up. */
    if (domid >= DOMID_FIRST_RESERVED) return -EINVAL;
    xlsim_lock(0);
    unsigned found = xlsim_next(h, domid);
    if (found >= XLSIM_NDOM) {
      ret = -ESRCH;
    } else {
      xlsim_fill_info(h, found, &op->u.getdomaininfo);
      op->domain = (domid_t)found;
    }
    xlsim_unlock(0);
    return ret;
  }
  if (kind == XLSIM_CALL_OTHER) return -EOPNOTSUPP;
  xlsim_lock(1);
  if (!xlsim_present(h, domid)) {
    xlsim_unlock(0);
    return -ESRCH;
  }
  struct xlsim_domain* d = &xlsim_domains(h)[domid];
  if (kind == XLSIM_CALL_PAUSE) {
    /* Dom0 is the caller's own domain; the count saturates at 255. */
    if (domid == 0) {
      ret = -EINVAL;
    } else if (d->pause_count >= 255) {
      ret = -EOVERFLOW;
    } else {
      d->pause_count++;
    }
  } else if (kind == XLSIM_CALL_UNPAUSE) {
    if (d->pause_count == 0) {
      ret = -EINVAL;
    } else {
      d->pause_count--;
    }
  } else if (kind == XLSIM_CALL_SOFT_RESET) {
    /* domain_soft_reset: only once shut down; x86 soft-resets HVM guests
     * only (a PV one is crashed, which changes nothing once it is shut
     * down); then domain_resume. Memory and vCPUs are kept. */
    if (domid == 0 || !d->shut_down ||
        !(d->info.flags & XEN_DOMINF_hvm_guest)) {
      ret = -EINVAL;
    } else {
      xlsim_resume(h, domid, d);
    }
  } else if (kind == XLSIM_CALL_SUBSCRIBE) {
    d->suspend_evtchn = op->u.subscribe.port;
  } else if (kind == XLSIM_CALL_RESUME) {
    /* EINVAL for the caller's own domain; any other domain is resumed,
     * shut down or not (domain_resume). */
    if (domid == 0) {
      ret = -EINVAL;
    } else {
      xlsim_resume(h, domid, d);
    }
  } else {
    /* domain_kill: dying until its last reference goes, after the host's
     * dying time (at once, later, or never: a zombie); destroying a dying
     * domain again succeeds. */
    if (domid == 0) {
      ret = -EINVAL;
    } else {
      xlsim_kill(h, domid);
      xlsim_collect(h);
    }
  }
  if (ret == 0) xlsim_account(h, domid, d);
  xlsim_unlock(ret == 0);
  return ret;
}

static long sched_op(struct xlsim_header* h, unsigned long cmd, void* arg) {
  if (cmd != SCHEDOP_remote_shutdown) {
    COUNT(h, XLSIM_CALL_OTHER);
    return -ENOSYS;
  }
  COUNT(h, XLSIM_CALL_SHUTDOWN);
  long ret = inject(h, XLSIM_CALL_SHUTDOWN);
  if (ret) return ret;
  struct sched_remote_shutdown* r = arg;
  xlsim_lock(1);
  if (!xlsim_present(h, r->domain_id)) {
    ret = -ESRCH;
  } else {
    /* Xen's domain_shutdown: the first code sticks; for dom0 the host
     * halts (recorded in the state file, see xlsim_shutdown). */
    struct xlsim_domain* d = &xlsim_domains(h)[r->domain_id];
    xlsim_shutdown(h, r->domain_id, d, r->reason);
  }
  xlsim_unlock(ret == 0);
  return ret;
}

/* HVMOP_get_param, for what libxl asks: HVM_PARAM_CALLBACK_IRQ, which a
 * guest's PV drivers set when it boots (libxl__domain_pvcontrol_available
 * reads it before writing control/shutdown). Here a guest has PV drivers
 * once it has run. Other parameters read 0; a PV domain has none (EINVAL,
 * as Xen answers). */
static long hvm_op(struct xlsim_header* h, unsigned long cmd, void* arg) {
  if (cmd != HVMOP_get_param) {
    COUNT(h, XLSIM_CALL_OTHER);
    return -ENOSYS;
  }
  COUNT(h, XLSIM_CALL_HVM_PARAM);
  long ret = inject(h, XLSIM_CALL_HVM_PARAM);
  if (ret) return ret;
  struct xen_hvm_param* p = arg;
  if (!p) return -EFAULT;
  xlsim_lock(0);
  if (!xlsim_present(h, p->domid)) {
    ret = -ESRCH;
  } else {
    struct xlsim_domain* d = &xlsim_domains(h)[p->domid];
    if (!(d->info.flags & XEN_DOMINF_hvm_guest)) {
      ret = -EINVAL;
    } else if (p->index == HVM_PARAM_CALLBACK_IRQ) {
      /* "via vector" 0xf3, as Linux's PVHVM drivers register it. */
      p->value = d->has_run ? (2ULL << 56) | 0xf3 : 0;
    } else {
      p->value = 0;
    }
  }
  xlsim_unlock(0);
  return ret;
}

static long version_op(struct xlsim_header* h, unsigned long cmd, void* arg) {
  COUNT(h, XLSIM_CALL_VERSION);
  long ret = inject(h, XLSIM_CALL_VERSION);
  if (ret) return ret;
  switch (cmd) {
    case XENVER_version:
      return (long)((h->xen_major << 16) | h->xen_minor);
    case XENVER_extraversion:
      memset(arg, 0, sizeof(xen_extraversion_t));
      memcpy(arg, h->xen_extra, strnlen(h->xen_extra, sizeof(h->xen_extra)));
      return 0;
    case XENVER_capabilities:
      memset(arg, 0, sizeof(xen_capabilities_info_t));
      strcpy(arg,
             "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
      return 0;
    case XENVER_changeset:
      memset(arg, 0, sizeof(xen_changeset_info_t));
      strcpy(arg, "xenlet-sim");
      return 0;
    case XENVER_compile_info:
      memset(arg, 0, sizeof(xen_compile_info_t));
      return 0;
    case XENVER_pagesize:
      return 4096;
    case XENVER_get_features:
      ((xen_feature_info_t*)arg)->submap = 0;
      return 0;
    default:
      return -ENOSYS;
  }
}

static long hypercall(privcmd_hypercall_t* call) {
  struct xlsim_header* h = xlsim_state();
  void* arg0 = (void*)(uintptr_t)call->arg[0];
  void* arg1 = (void*)(uintptr_t)call->arg[1];
  switch (call->op) {
    case __HYPERVISOR_sysctl:
      return arg0 ? sysctl_op(h, arg0) : -EFAULT;
    case __HYPERVISOR_domctl:
      return arg0 ? domctl_op(h, arg0) : -EFAULT;
    case __HYPERVISOR_sched_op:
      return sched_op(h, call->arg[0], arg1);
    case __HYPERVISOR_xen_version:
      return version_op(h, call->arg[0], arg1);
    case __HYPERVISOR_hvm_op:
      return hvm_op(h, call->arg[0], arg1);
    default:
      COUNT(h, XLSIM_CALL_OTHER);
      return -ENOSYS;
  }
}

static int device_ioctl(enum device_kind kind, unsigned long request,
                        void* arg) {
  struct xlsim_header* h = xlsim_state();
  __atomic_fetch_add(&h->ioctls, 1, __ATOMIC_RELAXED);
  if (kind == DEV_PRIVCMD && request == IOCTL_PRIVCMD_HYPERCALL) {
    long ret = hypercall(arg);
    TRACE("[xenlet-sim] hypercall op %llu arg0 %#llx -> %ld\n",
          (unsigned long long)((privcmd_hypercall_t*)arg)->op,
          (unsigned long long)((privcmd_hypercall_t*)arg)->arg[0], ret);
    if (ret < 0) {
      errno = (int)-ret;
      return -1;
    }
    return (int)ret;
  }
  /* libxendevicemodel probes DM_OP with no buffers when it opens. */
  if (kind == DEV_PRIVCMD && request == IOCTL_PRIVCMD_DM_OP &&
      ((privcmd_dm_op_t*)arg)->num == 0)
    return 0;
  TRACE("[xenlet-sim] ioctl %#lx -> ENOTTY\n", request);
  errno = ENOTTY;
  return -1;
}

/* ---- interposed libc functions ---- */
static int open_any(int dirfd, const char* path, int flags, mode_t mode,
                    int at) {
  resolve_libc();
  if (path && !strncmp(path, "/proc/xen/", 10) && xlsim_open_proc_xen) {
    int fd = xlsim_open_proc_xen(path, flags);
    if (fd != -2) return fd;
  }
  enum device_kind kind = device_of_path(path);
  if (kind != DEV_NONE) return open_device(kind, flags);
  return at ? libc_openat(dirfd, path, flags, mode)
            : libc_open(path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap) {
  return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_any(AT_FDCWD, path, flags, mode, 0);
}

int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_any(AT_FDCWD, path, flags, mode, 0);
}

int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_any(dirfd, path, flags, mode, 1);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_any(dirfd, path, flags, mode, 1);
}

/* The fortified entry points that -D_FORTIFY_SOURCE builds call. */
int __open_2(const char* path, int flags) {
  return open_any(AT_FDCWD, path, flags, 0, 0);
}
int __open64_2(const char* path, int flags) {
  return open_any(AT_FDCWD, path, flags, 0, 0);
}
int __openat_2(int dirfd, const char* path, int flags) {
  return open_any(dirfd, path, flags, 0, 1);
}
int __openat64_2(int dirfd, const char* path, int flags) {
  return open_any(dirfd, path, flags, 0, 1);
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  resolve_libc();
  enum device_kind kind = device_of_fd(fd);
  if (kind != DEV_NONE) return device_ioctl(kind, request, arg);
  return libc_ioctl(fd, request, arg);
}

/* Hypercall buffers (mmap of /dev/xen/hypercall) are plain anonymous memory
 * here: the "hypervisor" runs in this address space. */
void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  resolve_libc();
  if (fd >= 0 && !(flags & MAP_ANONYMOUS)) {
    enum device_kind kind = device_of_fd(fd);
    if (kind == DEV_HYPERCALL) {
      return libc_mmap(addr, len, prot,
                       (flags & ~MAP_SHARED) | MAP_PRIVATE | MAP_ANONYMOUS, -1,
                       0);
    }
    if (kind == DEV_PRIVCMD) { /* foreign mappings are not simulated */
      errno = ENODEV;
      return MAP_FAILED;
    }
  }
  return libc_mmap(addr, len, prot, flags, fd, off);
}

void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return mmap(addr, len, prot, flags, fd, off);
}

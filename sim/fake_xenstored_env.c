/* What the real xenstored needs from Xen besides hypercalls, faked at the
 * library level for the preloaded shim (the daemon calls libxenevtchn and
 * libxengnttab through its PLT, so these unversioned definitions win):
 *
 * - event channels: the handle's fd is an eventfd; ports are just numbers.
 *   Binding VIRQ_DOM_EXC starts a thread that waits on the state file's
 *   generation (a shared futex) and makes the eventfd readable on every
 *   change of the domain table, so xenstored runs check_domains() and fires
 *   @releaseDomain as on a real host.
 * - grant tables: mapping a domain's xenstore ring gives a private page if
 *   the domain exists and is not dying, else EINVAL, as gntdev does.
 * - /proc/xen/xsd_port and /proc/xen/xsd_kva: memfds (dom0's ring page).
 *
 * $XENLET_SIM_XSD_PORT sets the port read from xsd_port (default 1). */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sim/fake_privcmd.h"

// clang-format off: after xen.h, which fake_privcmd.h includes.
#include <xen/event_channel.h>
// clang-format on

struct xentoollog_logger;

#define TRACE(...)                                           \
  do {                                                       \
    if (xlsim_trace_enabled()) fprintf(stderr, __VA_ARGS__); \
  } while (0)

/* ---- /proc/xen/xsd_* ---- */
int xlsim_open_proc_xen(const char* path, int flags) {
  unsigned mfd_flags = (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0;
  int fd;
  if (!strcmp(path, "/proc/xen/xsd_port")) {
    const char* env = getenv("XENLET_SIM_XSD_PORT");
    char text[16];
    /* No newline, as Linux xenfs writes it. */
    int len = snprintf(text, sizeof(text), "%s", env && *env ? env : "1");
    fd = memfd_create("xenlet-sim-xsd_port", mfd_flags);
    if (fd < 0) return -1;
    if (write(fd, text, len) != len || lseek(fd, 0, SEEK_SET) != 0) {
      close(fd);
      errno = EIO;
      return -1;
    }
  } else if (!strcmp(path, "/proc/xen/xsd_kva")) {
    fd = memfd_create("xenlet-sim-xsd_kva", mfd_flags);
    if (fd < 0) return -1;
    if (ftruncate(fd, 4096) != 0) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
    }
  } else {
    return -2;
  }
  TRACE("[xenlet-sim] open %s -> %d\n", path, fd);
  return fd;
}

/* ---- event channels ---- */
typedef struct xenevtchn_handle {
  int efd;     /* readable while a VIRQ_DOM_EXC is pending */
  int own_efd; /* created here (not xenevtchn_fdopen) */
  int virq_port;
  uint32_t next_port;
  pthread_t thread;
  int thread_running;
  volatile int stop;
} xenevtchn_handle;

/* The state file's dom_exc word counts the VIRQ_DOM_EXCs the simulated Xen
 * sent (shutdown, kill, free: not pause, unpause or create). The timeout
 * only bounds the wait for a writer that forgot to wake. */
static void* dom_exc_thread(void* arg) {
  xenevtchn_handle* x = arg;
  uint32_t* word = &xlsim_state()->dom_exc;
  uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
  while (!x->stop) {
    struct timespec timeout = {0, 100 * 1000 * 1000};
    syscall(SYS_futex, word, FUTEX_WAIT, seen, &timeout, NULL, 0);
    uint32_t now = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (now == seen) continue;
    seen = now;
    uint64_t one = 1;
    if (write(x->efd, &one, sizeof(one)) < 0) {
      TRACE("[xenlet-sim] eventfd write: %s\n", strerror(errno));
    }
    TRACE("[xenlet-sim] VIRQ_DOM_EXC %u\n", now);
  }
  return NULL;
}

static xenevtchn_handle* new_evtchn(int fd) {
  xenevtchn_handle* x = calloc(1, sizeof(*x));
  if (!x) return NULL;
  x->next_port = 10;
  x->efd = fd;
  if (fd < 0) {
    x->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (x->efd < 0) {
      free(x);
      return NULL;
    }
    x->own_efd = 1;
  }
  return x;
}

xenevtchn_handle* xenevtchn_open(struct xentoollog_logger* logger,
                                 unsigned flags) {
  return new_evtchn(-1);
}

xenevtchn_handle* xenevtchn_fdopen(struct xentoollog_logger* logger, int fd,
                                   unsigned flags) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  return new_evtchn(fd);
}

int xenevtchn_close(xenevtchn_handle* x) {
  if (!x) return 0;
  if (x->thread_running) {
    x->stop = 1;
    syscall(SYS_futex, &xlsim_state()->dom_exc, FUTEX_WAKE, 0x7fffffff, NULL,
            NULL, 0);
    pthread_join(x->thread, NULL);
  }
  if (x->own_efd) close(x->efd);
  free(x);
  return 0;
}

int xenevtchn_fd(xenevtchn_handle* x) { return x->efd; }

static int next_port(xenevtchn_handle* x) {
  if (x->next_port >= 65536) x->next_port = 10;
  return (int)x->next_port++;
}

/* Nobody listens on the other end: guests are not simulated. */
int xenevtchn_notify(xenevtchn_handle* x, evtchn_port_t port) { return 0; }

int xenevtchn_bind_unbound_port(xenevtchn_handle* x, uint32_t domid) {
  return next_port(x);
}

int xenevtchn_bind_interdomain(xenevtchn_handle* x, uint32_t domid,
                               evtchn_port_t remote_port) {
  return next_port(x);
}

int xenevtchn_bind_virq(xenevtchn_handle* x, unsigned int virq) {
  int port = next_port(x);
  if (virq != VIRQ_DOM_EXC) return port;
  x->virq_port = port;
  if (!x->thread_running && xlsim_state()) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    x->thread_running =
        pthread_create(&x->thread, &attr, dom_exc_thread, x) == 0;
    pthread_attr_destroy(&attr);
  }
  TRACE("[xenlet-sim] bind VIRQ_DOM_EXC -> port %d\n", port);
  return port;
}

int xenevtchn_unbind(xenevtchn_handle* x, evtchn_port_t port) {
  if ((int)port == x->virq_port) x->virq_port = 0;
  return 0;
}

int xenevtchn_pending(xenevtchn_handle* x) {
  uint64_t value;
  if (read(x->efd, &value, sizeof(value)) != sizeof(value)) return -1;
  if (!x->virq_port) {
    errno = EAGAIN;
    return -1;
  }
  return x->virq_port;
}

int xenevtchn_unmask(xenevtchn_handle* x, evtchn_port_t port) { return 0; }

int xenevtchn_restrict(xenevtchn_handle* x, domid_t domid) { return 0; }

/* ---- grant tables ---- */
typedef struct xengnttab_handle {
  int unused;
} xengnttab_handle;

xengnttab_handle* xengnttab_open(struct xentoollog_logger* logger,
                                 unsigned flags) {
  return calloc(1, sizeof(xengnttab_handle));
}

int xengnttab_close(xengnttab_handle* g) {
  free(g);
  return 0;
}

int xengnttab_fd(xengnttab_handle* g) {
  errno = ENOSYS;
  return -1;
}

int xengnttab_set_max_grants(xengnttab_handle* g, uint32_t count) { return 0; }

static int domain_alive(uint32_t domid) {
  struct xlsim_header* h = xlsim_state();
  if (!h || domid >= XLSIM_NDOM) return 0;
  xlsim_lock(0);
  int alive = xlsim_present(h, domid) && !xlsim_domains(h)[domid].dying;
  xlsim_unlock(0);
  return alive;
}

static void* map_pages(uint32_t count, const uint32_t* domids, int stride,
                       int prot) {
  for (uint32_t i = 0; i < count; i++) {
    if (!domain_alive(domids[stride ? i : 0])) {
      errno = EINVAL; /* a failed GNTTABOP_map_grant_ref, through gntdev */
      return NULL;
    }
  }
  void* p = xlsim_real_mmap(NULL, (size_t)count * 4096,
                            prot ? prot : PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void* xengnttab_map_grant_ref(xengnttab_handle* g, uint32_t domid, uint32_t ref,
                              int prot) {
  return map_pages(1, &domid, 0, prot);
}

void* xengnttab_map_grant_refs(xengnttab_handle* g, uint32_t count,
                               uint32_t* domids, uint32_t* refs, int prot) {
  return map_pages(count, domids, 1, prot);
}

void* xengnttab_map_domain_grant_refs(xengnttab_handle* g, uint32_t count,
                                      uint32_t domid, uint32_t* refs,
                                      int prot) {
  return map_pages(count, &domid, 0, prot);
}

int xengnttab_unmap(xengnttab_handle* g, void* start, uint32_t count) {
  return munmap(start, (size_t)count * 4096);
}

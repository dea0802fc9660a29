/* Internal interface of the fake hypervisor (fake_privcmd.c) for the
 * xenstored environment fakes (fake_xenstored_env.c). Not for other users:
 * they drive the state file through sim/hypervisor_state.h. */
#ifndef XENLET_SIM_FAKE_PRIVCMD_H_
#define XENLET_SIM_FAKE_PRIVCMD_H_

#include "sim/state_layout.h"

#define XLSIM_HIDDEN __attribute__((visibility("hidden")))

/* The mapped state file (bound on first use from $XENLET_SIM_STATE), or
 * NULL when there is none. */
XLSIM_HIDDEN struct xlsim_header* xlsim_state(void);
XLSIM_HIDDEN void xlsim_lock(int exclusive);
/* Unlocks; bump != 0 bumps the generation and wakes its waiters. */
XLSIM_HIDDEN void xlsim_unlock(int bump);
XLSIM_HIDDEN int xlsim_trace_enabled(void);
/* libc's mmap, bypassing the interposed one. */
XLSIM_HIDDEN void* xlsim_real_mmap(void* addr, size_t len, int prot, int flags,
                                   int fd, long off);

/* Opens /proc/xen/xsd_* and returns an fd, -1 with errno, or -2 if path is
 * not one of them. Weak: only the preloaded shim has fake_xenstored_env.c,
 * so in-process builds see NULL. */
XLSIM_HIDDEN int xlsim_open_proc_xen(const char* path, int flags)
    __attribute__((weak));

#endif /* XENLET_SIM_FAKE_PRIVCMD_H_ */

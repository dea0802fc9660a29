// The real xenstored (Debian's C daemon) run on the simulated host: under
// the preloaded shim, with a private run directory (its socket is
// RUNDIR/socket), in its own session so that it and anything it starts can
// be killed as one process group.
#ifndef XENLET_SIM_XENSTORED_PROCESS_H_
#define XENLET_SIM_XENSTORED_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace xenlet::sim {

inline constexpr char kDefaultXenstoredBinary[] =
    "/usr/lib/xen-4.17/bin/xenstored";

struct XenstoredOptions {
  std::string binary = kDefaultXenstoredBinary;
  // XENSTORED_RUNDIR: the socket, the database and the default log go here.
  // Keep it short: a unix socket path has at most 107 bytes.
  std::string rundir;
  std::string state_path;    // the hypervisor state file
  std::string preload_path;  // the shim (libxenlet_sim_preload.so)
  // xenstored -T: a trace of every request ("IN conn date time OP (args)").
  std::string trace_path;
  std::string log_path;  // stdout and stderr; empty: RUNDIR/xenstored.log
  // Killed when the thread that started it exits (PR_SET_PDEATHSIG), so a
  // crashed test leaves nothing behind. Off for a daemon that outlives its
  // starter (xensim up).
  bool die_with_parent = true;
  absl::Duration start_timeout = absl::Seconds(10);
};

class XenstoredProcess {
 public:
  // Starts xenstored and waits until its socket accepts connections.
  static absl::StatusOr<std::unique_ptr<XenstoredProcess>> Start(
      const XenstoredOptions& options);
  // Kills it (unless detached).
  ~XenstoredProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  std::string socket_path() const { return options_.rundir + "/socket"; }
  const XenstoredOptions& options() const { return options_; }

  // SIGKILL to the whole process group, then waits for it: clients see the
  // connection drop as on a crash.
  absl::Status Kill();
  // Starts it again with the same options (after Kill, or to replace it).
  absl::Status Restart();
  // Forgets the process: it outlives this object.
  void Detach() { pid_ = -1; }

 private:
  explicit XenstoredProcess(XenstoredOptions options)
      : options_(std::move(options)) {}
  absl::Status Spawn();
  absl::Status WriteDom0Keys();

  XenstoredOptions options_;
  pid_t pid_ = -1;
};

// Kills a process group by its leader's pid and waits (bounded) until the
// leader is gone; for a daemon this process did not start (xensim down).
absl::Status KillProcessGroup(pid_t pid, absl::Duration timeout);
// SIGTERM to the group; SIGKILL if pid has not exited after grace.
absl::Status TerminateProcessGroup(pid_t pid, absl::Duration grace);

}  // namespace xenlet::sim

#endif  // XENLET_SIM_XENSTORED_PROCESS_H_

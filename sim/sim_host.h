// A private simulated Xen host for a test: a temp dir under /tmp (short
// enough for a unix socket), a hypervisor state file with dom0, and the real
// xenstored running under the fake hypervisor. Everything it started is
// stopped when it is destroyed (and xenstored dies with the thread that
// started it, should the test crash).
//
//   auto host = SimHost::Start();           // in a test: ASSERT_OK
//   auto toolstack = (*host)->NewToolstack();
//   auto domain = (*toolstack)->CreateDomain({});
//   auto xs = (*host)->ConnectXenstore();   // the project's XenstoreClient
//   auto hv = (*host)->OpenHypervisor();    // in-process fake hypervisor
//
// In-process hypercalls go to the fake linked into the binary (this
// library brings it), which follows $XENLET_SIM_STATE: SimHost sets it (and
// XENSTORED_PATH) for the process, so run one SimHost at a time per
// process. Other processes (the agent) are run with PreloadEnv().
#ifndef XENLET_SIM_SIM_HOST_H_
#define XENLET_SIM_SIM_HOST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sim/hypervisor_state.h"
#include "sim/simulated_guests.h"
#include "sim/toolstack.h"
#include "sim/xenstored_process.h"
#include "xen/call_observer.h"
#include "xen/hypervisor.h"
#include "xen/xenctrl_hypervisor.h"
#include "xen/xenstore.h"

namespace xenlet::sim {

// Debian's real xl (libxl 4.17) runs on a simulated host under the preload;
// its destroy takes a lock in this directory, which a dom0 has.
inline constexpr char kXlRuntimeDir[] = "/var/run/xen";
void EnsureXlRuntimeDir();

struct SimHostOptions {
  // Without xenstored the host has only the hypervisor side.
  bool start_xenstored = true;
  // xenstored -T DIR/trace: every request, for counting from outside.
  bool trace = false;
  std::string xenstored_binary = kDefaultXenstoredBinary;
  // Sets XENLET_SIM_STATE and XENSTORED_PATH in this process's environment
  // (restored at the end), so in-process code finds the host.
  bool export_env = true;
  // Empty: a fresh /tmp/xlsim.XXXXXX, removed at the end.
  std::string dir;
  bool keep_dir = false;
  // Guests answer control/shutdown requests as a PV guest's xenbus driver
  // does (sim/simulated_guests.h), so that any toolstack's shutdown works.
  bool simulated_guests = true;
};

class SimHost {
 public:
  static absl::StatusOr<std::unique_ptr<SimHost>> Start(
      const SimHostOptions& options = {});
  ~SimHost();

  const std::string& dir() const { return dir_; }
  std::string state_path() const { return dir_ + "/state"; }
  std::string socket_path() const { return dir_ + "/socket"; }
  std::string trace_path() const { return dir_ + "/trace"; }
  HypervisorState& state() { return *state_; }
  // Null when xenstored is not running.
  XenstoredProcess* xenstored() { return xenstored_.get(); }

  absl::Status StartXenstored();
  absl::Status KillXenstored();
  absl::Status RestartXenstored();

  // Environment for another process to run against this host:
  // LD_PRELOAD (the shim), XENLET_SIM_STATE, XENSTORED_PATH.
  std::vector<std::pair<std::string, std::string>> PreloadEnv() const;

  absl::StatusOr<std::unique_ptr<xen::XenstoreClient>> ConnectXenstore(
      xen::CallObserver* observer = nullptr) const;
  // The project's Hypervisor over libxenctrl, answered by the in-process
  // fake from this host's state file.
  absl::StatusOr<std::unique_ptr<xen::Hypervisor>> OpenHypervisor(
      const xen::HypervisorOptions& options = {}) const;
  // domid_reuse_timeout: libxl's (60 s) by default; zero for a toolstack
  // that may give a domid again at once (see ToolstackOptions).
  absl::StatusOr<std::unique_ptr<Toolstack>> NewToolstack(
      absl::Duration domid_reuse_timeout = kLibxlDomidReuseTimeout) const;

  // Requests of type op ("READ", "TRANSACTION_START", ...) in xenstored's
  // trace so far (needs options.trace).
  absl::StatusOr<int64_t> CountTracedRequests(std::string_view op) const;
  // Stops or resumes xenstored's trace (XS_CONTROL "log"), so that one
  // query can be traced and others timed without the trace's cost. Needs
  // options.trace.
  absl::Status SetTrace(bool on) const;
  // The requests in xenstored's trace from line *from on, as "OP (args)"
  // (e.g. "WRITE (/local/domain/1/name web )"); *from becomes the next
  // line, so that successive calls return what came since.
  absl::StatusOr<std::vector<std::string>> TracedRequests(size_t* from) const;

 private:
  explicit SimHost(SimHostOptions options) : options_(std::move(options)) {}

  SimHostOptions options_;
  std::string dir_;
  bool own_dir_ = false;
  std::string preload_path_;
  std::unique_ptr<HypervisorState> state_;
  std::unique_ptr<XenstoredProcess> xenstored_;
  std::unique_ptr<SimulatedGuests> guests_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_env_;
};

// The preloadable shim: $XENLET_SIM_PRELOAD, else from the binary's Bazel
// runfiles, else next to the binary. An absolute path.
absl::StatusOr<std::string> FindPreloadLibrary();

}  // namespace xenlet::sim

#endif  // XENLET_SIM_SIM_HOST_H_

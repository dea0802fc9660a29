#include "sim/sim_host.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/cpp/runfiles/runfiles.h"
#include "xen/errno_status.h"
#include "xen/libxenstore_client.h"

namespace xenlet::sim {
namespace {

using bazel::tools::cpp::runfiles::Runfiles;

constexpr char kPreloadName[] = "libxenlet_sim_preload.so";
constexpr char kPreloadRunfile[] = "xenlet/sim/libxenlet_sim_preload.so";

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : "";
}

bool IsFile(const std::string& path) {
  return !path.empty() && access(path.c_str(), R_OK) == 0;
}

std::string Absolute(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

}  // namespace

absl::StatusOr<std::string> FindPreloadLibrary() {
  if (const char* env = getenv("XENLET_SIM_PRELOAD"); env && IsFile(env)) {
    return Absolute(env);
  }
  const std::string exe = SelfExe();
  std::string error;
  std::unique_ptr<Runfiles> runfiles(Runfiles::Create(exe, &error));
  if (!runfiles) runfiles.reset(Runfiles::CreateForTest(&error));
  if (runfiles) {
    std::string path = runfiles->Rlocation(kPreloadRunfile);
    if (IsFile(path)) return Absolute(path);
  }
  std::string beside =
      (std::filesystem::path(exe).parent_path() / kPreloadName).string();
  if (IsFile(beside)) return beside;
  return absl::NotFoundError(absl::StrCat(
      "cannot find ", kPreloadName,
      " (set XENLET_SIM_PRELOAD, or depend on //sim:", kPreloadName, ")"));
}

void EnsureXlRuntimeDir() {
  // Where libxl keeps its domid-history lock (libxl_domain.c, destroy);
  // a dom0 has it from the xencommons init script. Without root this
  // fails, and only the real xl's destroy needs it.
  std::error_code ec;
  std::filesystem::create_directories(kXlRuntimeDir, ec);
}

absl::StatusOr<std::unique_ptr<SimHost>> SimHost::Start(
    const SimHostOptions& options) {
  std::unique_ptr<SimHost> host(new SimHost(options));
  if (options.dir.empty()) {
    char tmpl[] = "/tmp/xlsim.XXXXXX";
    if (!mkdtemp(tmpl)) return xen::ErrnoToStatus(errno, "mkdtemp");
    host->dir_ = tmpl;
    host->own_dir_ = !options.keep_dir;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options.dir, ec);
    if (ec) return absl::InternalError("mkdir " + options.dir);
    host->dir_ = Absolute(options.dir);
  }
  EnsureXlRuntimeDir();
  auto preload = FindPreloadLibrary();
  if (!preload.ok()) return preload.status();
  host->preload_path_ = *preload;
  auto state = HypervisorState::Create(host->state_path());
  if (!state.ok()) return state.status();
  host->state_ = std::move(*state);
  if (options.export_env) {
    for (const auto& [name, value] :
         {std::pair<std::string, std::string>{kStateEnv, host->state_path()},
          {"XENSTORED_PATH", host->socket_path()}}) {
      const char* old = getenv(name.c_str());
      host->saved_env_.push_back(
          {name, old ? std::optional<std::string>(old) : std::nullopt});
      setenv(name.c_str(), value.c_str(), 1);
    }
  }
  if (options.start_xenstored) {
    if (auto s = host->StartXenstored(); !s.ok()) return s;
    if (options.simulated_guests) {
      SimHost* h = host.get();
      host->guests_ = std::make_unique<SimulatedGuests>(
          [h] { return h->ConnectXenstore(); }, host->state_.get());
      if (!host->guests_->WaitReady(absl::Seconds(10))) {
        return absl::DeadlineExceededError(
            "the simulated guests never registered their xenstore watch");
      }
    }
  }
  return host;
}

SimHost::~SimHost() {
  guests_.reset();
  xenstored_.reset();  // kills its process group
  for (auto it = saved_env_.rbegin(); it != saved_env_.rend(); ++it) {
    if (it->second) {
      setenv(it->first.c_str(), it->second->c_str(), 1);
    } else {
      unsetenv(it->first.c_str());
    }
  }
  state_.reset();
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

absl::Status SimHost::StartXenstored() {
  if (xenstored_ && xenstored_->running()) {
    return absl::FailedPreconditionError("xenstored is already running");
  }
  if (xenstored_) return xenstored_->Restart();
  XenstoredOptions o;
  o.binary = options_.xenstored_binary;
  o.rundir = dir_;
  o.state_path = state_path();
  o.preload_path = preload_path_;
  if (options_.trace) o.trace_path = trace_path();
  auto process = XenstoredProcess::Start(o);
  if (!process.ok()) return process.status();
  xenstored_ = std::move(*process);
  return absl::OkStatus();
}

absl::Status SimHost::KillXenstored() {
  if (!xenstored_) return absl::FailedPreconditionError("no xenstored");
  return xenstored_->Kill();
}

absl::Status SimHost::RestartXenstored() {
  if (!xenstored_) return StartXenstored();
  return xenstored_->Restart();
}

std::vector<std::pair<std::string, std::string>> SimHost::PreloadEnv() const {
  return {{"LD_PRELOAD", preload_path_},
          {kStateEnv, state_path()},
          {"XENSTORED_PATH", socket_path()}};
}

absl::StatusOr<std::unique_ptr<xen::XenstoreClient>> SimHost::ConnectXenstore(
    xen::CallObserver* observer) const {
  return xen::OpenLibxenstoreClient({socket_path(), observer});
}

absl::StatusOr<std::unique_ptr<xen::Hypervisor>> SimHost::OpenHypervisor(
    const xen::HypervisorOptions& options) const {
  const char* current = getenv(kStateEnv);
  if (!current || state_path() != current) {
    return absl::FailedPreconditionError(
        absl::StrCat(kStateEnv,
                     " does not name this host's state file: another SimHost "
                     "is active in this process, or export_env is off"));
  }
  return xen::OpenXenctrlHypervisor(options);
}

absl::StatusOr<std::unique_ptr<Toolstack>> SimHost::NewToolstack(
    absl::Duration domid_reuse_timeout) const {
  ToolstackOptions o;
  o.state_path = state_path();
  o.xenstore_socket = socket_path();
  o.domid_reuse_timeout = domid_reuse_timeout;
  o.guests_answer = guests_ != nullptr;
  return Toolstack::Open(o);
}

absl::StatusOr<int64_t> SimHost::CountTracedRequests(
    std::string_view op) const {
  if (!options_.trace) return absl::FailedPreconditionError("trace is off");
  std::ifstream in(trace_path());
  if (!in) return absl::NotFoundError("no trace at " + trace_path());
  // "IN 0x55d0c5f0a8b0 20261125 17:00:00 READ (/local/domain/1/name )"
  int64_t count = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 5 && f[0] == "IN" && f[4] == op) ++count;
  }
  return count;
}

absl::Status SimHost::SetTrace(bool on) const {
  if (!options_.trace) return absl::FailedPreconditionError("trace is off");
  return xen::XenstoredControl(socket_path(), {"log", on ? "on" : "off"})
      .status();
}

absl::StatusOr<std::vector<std::string>> SimHost::TracedRequests(
    size_t* from) const {
  if (!options_.trace) return absl::FailedPreconditionError("trace is off");
  std::ifstream in(trace_path());
  if (!in) return absl::NotFoundError("no trace at " + trace_path());
  std::vector<std::string> out;
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    // A last line without its newline is still being written: next time.
    if (in.eof()) break;
    if (n++ < *from) continue;
    // IN <connection> <date> <time> <OP> (<args>)
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(' ', 4));
    if (f.size() == 5 && f[0] == "IN") out.push_back(f[4]);
  }
  *from = n;
  return out;
}

}  // namespace xenlet::sim

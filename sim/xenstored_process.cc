#include "sim/xenstored_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "xen/errno_status.h"
#include "xen/libxenstore_client.h"

extern char** environ;

namespace xenlet::sim {
namespace {

bool CanConnect(const std::string& socket_path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

// Our variables replace any inherited ones (a parent may itself run on
// another simulated host).
std::vector<std::string> ChildEnvironment(const XenstoredOptions& o) {
  static const char* const kOwn[] = {"XENSTORED_RUNDIR=", "XENSTORED_PATH=",
                                     "LD_PRELOAD=", "XENLET_SIM_STATE="};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    bool own = false;
    for (const char* prefix : kOwn) own = own || absl::StartsWith(*e, prefix);
    if (!own) env.emplace_back(*e);
  }
  env.push_back(absl::StrCat("XENSTORED_RUNDIR=", o.rundir));
  env.push_back(absl::StrCat("XENSTORED_PATH=", o.rundir, "/socket"));
  env.push_back(absl::StrCat("LD_PRELOAD=", o.preload_path));
  env.push_back(absl::StrCat("XENLET_SIM_STATE=", o.state_path));
  return env;
}

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

}  // namespace

absl::StatusOr<std::unique_ptr<XenstoredProcess>> XenstoredProcess::Start(
    const XenstoredOptions& options) {
  if (options.rundir.empty() || options.state_path.empty() ||
      options.preload_path.empty()) {
    return absl::InvalidArgumentError(
        "xenstored needs a rundir, a state file and the preload library");
  }
  if (options.rundir.size() + 7 >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rundir too long for a unix socket: ", options.rundir));
  }
  if (access(options.binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no xenstored at ", options.binary,
        " (apt-get install --no-install-recommends xen-utils-4.17)"));
  }
  std::unique_ptr<XenstoredProcess> process(new XenstoredProcess(options));
  if (process->options_.log_path.empty()) {
    process->options_.log_path = options.rundir + "/xenstored.log";
  }
  if (auto s = process->Spawn(); !s.ok()) return s;
  return process;
}

XenstoredProcess::~XenstoredProcess() { Kill().IgnoreError(); }

absl::Status XenstoredProcess::Spawn() {
  const XenstoredOptions& o = options_;
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> args = {o.binary, "-N"};
  if (!o.trace_path.empty()) {
    args.push_back("-T");
    args.push_back(o.trace_path);
  }
  std::vector<std::string> env = ChildEnvironment(o);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int log =
      open(o.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return xen::ErrnoToStatus(errno, "open " + o.log_path);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  // The socket of a killed daemon stays behind; watch for the new one.
  unlink(socket_path().c_str());
  int inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify >= 0) {
    inotify_add_watch(inotify, o.rundir.c_str(),
                      IN_CREATE | IN_ATTRIB | IN_MOVED_TO);
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    if (o.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(126);
    }
    dup2(devnull, 0);
    dup2(log, 1);
    dup2(log, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  int fork_errno = errno;
  close(log);
  close(devnull);
  if (pid < 0) {
    if (inotify >= 0) close(inotify);
    return xen::ErrnoToStatus(fork_errno, "fork");
  }
  pid_ = pid;
  // Ready when the socket accepts a connection. Between attempts, wait for
  // the run directory to change or the daemon to exit.
  int pidfd = PidfdOpen(pid);
  const absl::Time deadline = absl::Now() + o.start_timeout;
  absl::Status status = absl::DeadlineExceededError(
      absl::StrCat("xenstored did not accept connections within ",
                   absl::FormatDuration(o.start_timeout)));
  while (absl::Now() < deadline) {
    if (CanConnect(socket_path())) {
      status = absl::OkStatus();
      break;
    }
    int wstatus;
    if (waitpid(pid, &wstatus, WNOHANG) == pid) {
      pid_ = -1;
      status = absl::InternalError(
          absl::StrCat("xenstored exited at start (status ", wstatus,
                       "); its log:\n", Tail(o.log_path)));
      break;
    }
    pollfd fds[2] = {{inotify, POLLIN, 0}, {pidfd, POLLIN, 0}};
    poll(fds, 2, 20);
    char buf[4096];
    while (inotify >= 0 && read(inotify, buf, sizeof(buf)) > 0) {
    }
  }
  if (inotify >= 0) close(inotify);
  if (pidfd >= 0) close(pidfd);
  if (status.ok()) status = WriteDom0Keys();
  if (!status.ok()) Kill().IgnoreError();
  return status;
}

// What xen-init-dom0 writes on a real host at boot, so that dom0 has its
// name like every other domain.
absl::Status XenstoredProcess::WriteDom0Keys() {
  auto client = xen::OpenLibxenstoreClient({socket_path()});
  if (!client.ok()) return client.status();
  return xen::RunTransaction(**client, [](xen::XenstoreTransaction& txn) {
    if (auto s = txn.Write("/local/domain/0/name", "Domain-0"); !s.ok()) {
      return s;
    }
    return txn.Write("/local/domain/0/domid", "0");
  });
}

absl::Status XenstoredProcess::Kill() {
  if (pid_ <= 0) return absl::OkStatus();
  pid_t pid = pid_;
  pid_ = -1;
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  int wstatus;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  return absl::OkStatus();
}

absl::Status XenstoredProcess::Restart() {
  if (auto s = Kill(); !s.ok()) return s;
  return Spawn();
}

namespace {

// Sends sig to the group led by pid (and to pid) and waits up to timeout
// for pid to exit: whether it did (true if it was gone already).
absl::StatusOr<bool> SignalGroupAndWait(pid_t pid, int sig,
                                        absl::Duration timeout) {
  if (pid <= 0) return absl::InvalidArgumentError("no pid");
  int pidfd = PidfdOpen(pid);
  if (pidfd < 0 && errno == ESRCH) return true;
  if (pidfd < 0) return xen::ErrnoToStatus(errno, absl::StrCat("pid ", pid));
  kill(-pid, sig);
  kill(pid, sig);
  pollfd fd{pidfd, POLLIN, 0};
  const int ready =
      poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  close(pidfd);
  return ready > 0;
}

}  // namespace

absl::Status KillProcessGroup(pid_t pid, absl::Duration timeout) {
  auto exited = SignalGroupAndWait(pid, SIGKILL, timeout);
  if (!exited.ok()) return exited.status();
  if (!*exited) {
    return absl::DeadlineExceededError(
        absl::StrCat("pid ", pid, " still alive after SIGKILL"));
  }
  return absl::OkStatus();
}

absl::Status TerminateProcessGroup(pid_t pid, absl::Duration grace) {
  auto exited = SignalGroupAndWait(pid, SIGTERM, grace);
  if (!exited.ok()) return exited.status();
  return *exited ? absl::OkStatus() : KillProcessGroup(pid, grace);
}

}  // namespace xenlet::sim

#include "tests/testing/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/time/clock.h"

namespace xenlet::testing {

std::unique_ptr<Child> Child::Start(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env,
                                    const std::string& stderr_path) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return nullptr;
  const int err = open(stderr_path.c_str(),
                       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err < 0) {
    close(out[0]);
    close(out[1]);
    return nullptr;
  }
  std::vector<std::string> args = argv, vars = env;
  std::vector<char*> argp, envp;
  for (std::string& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  for (std::string& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec. The child dies with the
    // thread that started it, so that a test that crashes leaves nothing
    // running (the setting survives exec, e.g. through `ip netns exec`).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out[1], 1);
    dup2(err, 2);
    execve(argp[0], argp.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err);
  if (pid < 0) {
    close(out[0]);
    return nullptr;
  }
  return std::unique_ptr<Child>(new Child(pid, out[0]));
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(fd_);
}

std::optional<std::string> Child::ReadLine(absl::Time deadline) {
  while (true) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (eof_) return std::nullopt;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::nullopt;
    pollfd p = {fd_, POLLIN, 0};
    const int ready =
        poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline is checked above
    char chunk[4096];
    const ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof_ = true;
    } else {
      buffer_.append(chunk, n);
    }
  }
}

bool Child::Exited() const {
  siginfo_t info{};
  return pid_ > 0 &&
         waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid != 0;
}

int Child::Wait(absl::Duration timeout) { return Stop(0, timeout); }

int Child::Stop(int sig, absl::Duration timeout) {
  if (pid_ <= 0) return -1;  // already reaped: never kill(-1, ...)
  if (sig != 0) kill(pid_, sig);
  const absl::Time deadline = absl::Now() + timeout;
  // Until its stdout ends (it exited) or the deadline passes.
  while (ReadLine(deadline).has_value()) {
  }
  int status = -1;
  if (!eof_) kill(pid_, SIGKILL);  // it never closed its stdout
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return eof_ ? status : -1;
}

}  // namespace xenlet::testing

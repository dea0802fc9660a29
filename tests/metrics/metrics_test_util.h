// Support for the tests of xenlet's Prometheus endpoint: the real xenlet
// binary on a private simulated host, child processes that die with the
// test (Prometheus, promtool), a minimal HTTP GET over a loopback TCP
// socket, and a parser for the Prometheus text exposition format.
#ifndef XENLET_TESTS_METRICS_METRICS_TEST_UTIL_H_
#define XENLET_TESTS_METRICS_METRICS_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sim/sim_host.h"

namespace xenlet::metrics_test {

// A file from the test's runfiles ("xenlet/deploy/..."): an absolute path.
absl::StatusOr<std::string> Runfile(const std::string& path);

std::string ReadFile(const std::string& path);
absl::Status WriteFile(const std::string& path, const std::string& content);

// A child process, its stdout and stderr appended to one log file. It is
// killed (SIGKILL) if the test's main thread dies first (PR_SET_PDEATHSIG)
// and by the destructor if still running.
class ChildProcess {
 public:
  // env: the complete environment of the child.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::vector<std::string>& argv, const std::vector<std::string>& env,
      const std::string& log_path);
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const { return ReadFile(log_path_); }
  // True while it has not exited (reaps it if it has).
  bool Running();
  // Sends sig, waits up to timeout for the exit, then SIGKILLs. The exit
  // status as waitpid gives it; an error if it had to be killed.
  absl::StatusOr<int> Stop(int sig, absl::Duration timeout);

  // Polls the log until regex's first group matches (returns it), the
  // process exits, or the deadline passes.
  absl::StatusOr<std::string> WaitForLog(const std::regex& regex,
                                         absl::Duration timeout);

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int wait_status_ = 0;
  std::string log_path_;
};

// Runs a command to completion (bounded by timeout): exit code, and its
// stdout and stderr. stdin from stdin_path ("" for /dev/null).
struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& stdin_path,
                                         const std::string& work_dir,
                                         absl::Duration timeout);

// HTTP/1.0 GET http://127.0.0.1:port<target> (so the answer is never
// chunked and the server closes the connection).
struct HttpResponse {
  int status = 0;
  std::string body;
};
absl::StatusOr<HttpResponse> HttpGet(int port, const std::string& target,
                                     absl::Duration timeout);
// The same to another IPv4 address (e.g. a test's network namespace's).
absl::StatusOr<HttpResponse> HttpGet(const std::string& ipv4, int port,
                                     const std::string& target,
                                     absl::Duration timeout);
std::string UrlEncode(const std::string& s);

// One sample of the text exposition format.
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string value;
};
// Samples of the body (comments skipped); an error on a malformed line.
absl::StatusOr<std::vector<Sample>> ParseExposition(const std::string& body);

// The xenlet binary on a SimHost, serving gRPC on DIR/xenlet.sock and
// Prometheus on 127.0.0.1:<free port>.
class Agent {
 public:
  // Starts it, waits (bounded) for the metrics port in its log and for the
  // gRPC health check to answer SERVING.
  static absl::StatusOr<std::unique_ptr<Agent>> Start(sim::SimHost& host);
  ~Agent();

  int metrics_port() const { return metrics_port_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  ChildProcess& process() { return *process_; }
  // SIGTERM; the agent exits 0 after its grace period.
  absl::Status Stop();

 private:
  Agent() = default;
  std::unique_ptr<ChildProcess> process_;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// Environment for a child: this process's minus LD_PRELOAD, plus extra.
std::vector<std::string> ChildEnv(
    const std::vector<std::pair<std::string, std::string>>& extra = {});

// Polls fn (an absl::Status) until it is OK, it is ABORTED (no point going
// on) or the deadline passes; the last status then.
template <typename Fn>
absl::Status PollUntil(Fn fn, absl::Duration timeout,
                       absl::Duration interval = absl::Milliseconds(100)) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status status = fn();
  while (!status.ok() && !absl::IsAborted(status) && absl::Now() < deadline) {
    absl::SleepFor(interval);  // the poll period, not synchronisation
    status = fn();
  }
  return status;
}

}  // namespace xenlet::metrics_test

#endif  // XENLET_TESTS_METRICS_METRICS_TEST_UTIL_H_

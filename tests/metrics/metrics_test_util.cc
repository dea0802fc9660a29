#include "tests/metrics/metrics_test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tools/cpp/runfiles/runfiles.h"

extern char** environ;

namespace xenlet::metrics_test {
namespace {

using bazel::tools::cpp::runfiles::Runfiles;

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// fork + exec with the child's stdin/stdout/stderr on the given fds and
// PR_SET_PDEATHSIG, so that nothing outlives a crashed test. Everything
// the child touches is prepared before fork (the test is multithreaded).
absl::StatusOr<pid_t> Spawn(std::vector<std::string> argv,
                            std::vector<std::string> env, int in_fd, int out_fd,
                            int err_fd, const std::string& work_dir) {
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(env);
  const pid_t parent = getpid();
  const char* dir = work_dir.empty() ? nullptr : work_dir.c_str();
  pid_t pid = fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    // A new process group: a signal to the test's group does not reach it.
    setpgid(0, 0);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (dir != nullptr && chdir(dir) != 0) _exit(127);
    // The test blocks no signals, but reset the mask anyway.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  return pid;
}

int OpenOrDie(const std::string& path, int flags) {
  return open(path.c_str(), flags | O_CLOEXEC, 0644);
}

}  // namespace

absl::StatusOr<std::string> Runfile(const std::string& path) {
  std::string error;
  std::unique_ptr<Runfiles> runfiles(Runfiles::CreateForTest(&error));
  if (runfiles == nullptr) return absl::InternalError(error);
  std::string found = runfiles->Rlocation(path);
  if (found.empty() || access(found.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("no runfile ", path));
  }
  return found;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::vector<std::string> ChildEnv(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    bool overridden = entry.rfind("LD_PRELOAD=", 0) == 0;
    for (const auto& [k, v] : extra) {
      overridden |= entry.rfind(k + "=", 0) == 0;
    }
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(absl::StrCat(k, "=", v));
  return env;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& env,
    const std::string& log_path) {
  int log = OpenOrDie(log_path, O_WRONLY | O_CREAT | O_APPEND);
  if (log < 0) return absl::ErrnoToStatus(errno, log_path);
  int null = OpenOrDie("/dev/null", O_RDONLY);
  auto pid = Spawn(argv, env, null, log, log, "");
  close(log);
  close(null);
  if (!pid.ok()) return pid.status();
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = *pid;
  child->log_path_ = log_path;
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    wait_status_ = status;
    pid_ = -1;
    return false;
  }
  return true;
}

absl::StatusOr<int> ChildProcess::Stop(int sig, absl::Duration timeout) {
  if (pid_ <= 0) return wait_status_;
  kill(pid_, sig);
  absl::Status exited = PollUntil(
      [&]() {
        return Running() ? absl::DeadlineExceededError("still running")
                         : absl::OkStatus();
      },
      timeout, absl::Milliseconds(20));
  if (exited.ok()) return wait_status_;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::DeadlineExceededError(
      absl::StrCat("did not exit within ", absl::FormatDuration(timeout),
                   " of signal ", sig, "; killed"));
}

absl::StatusOr<std::string> ChildProcess::WaitForLog(const std::regex& regex,
                                                     absl::Duration timeout) {
  std::string found;
  absl::Status status = PollUntil(
      [&]() -> absl::Status {
        std::string log = Log();
        std::smatch match;
        if (std::regex_search(log, match, regex)) {
          found = match.size() > 1 ? match[1].str() : match[0].str();
          return absl::OkStatus();
        }
        if (!Running()) {
          // A last look: the line may have been written just before exit.
          log = Log();
          if (std::regex_search(log, match, regex)) {
            found = match.size() > 1 ? match[1].str() : match[0].str();
            return absl::OkStatus();
          }
          return absl::AbortedError(
              absl::StrCat("exited (status ", wait_status_, "); log:\n", log));
        }
        return absl::DeadlineExceededError(
            absl::StrCat("not in the log yet; log:\n", log));
      },
      timeout, absl::Milliseconds(50));
  // Aborted: no point polling on.
  if (!status.ok()) return status;
  return found;
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& stdin_path,
                                         const std::string& work_dir,
                                         absl::Duration timeout) {
  char out_pattern[] = "/tmp/xlmcmd.XXXXXX";
  int out_fd = mkostemp(out_pattern, O_CLOEXEC);
  if (out_fd < 0) return absl::ErrnoToStatus(errno, "mkostemp");
  char err_pattern[] = "/tmp/xlmcmd.XXXXXX";
  int err_fd = mkostemp(err_pattern, O_CLOEXEC);
  if (err_fd < 0) {
    close(out_fd);
    unlink(out_pattern);
    return absl::ErrnoToStatus(errno, "mkostemp");
  }
  int in_fd =
      OpenOrDie(stdin_path.empty() ? "/dev/null" : stdin_path, O_RDONLY);
  absl::StatusOr<CommandResult> result;
  if (in_fd < 0) {
    result = absl::ErrnoToStatus(errno, stdin_path);
  } else {
    auto pid = Spawn(argv, ChildEnv(), in_fd, out_fd, err_fd, work_dir);
    close(in_fd);
    if (!pid.ok()) {
      result = pid.status();
    } else {
      int status = 0;
      absl::Status done = PollUntil(
          [&]() {
            return waitpid(*pid, &status, WNOHANG) == *pid
                       ? absl::OkStatus()
                       : absl::DeadlineExceededError(
                             absl::StrCat(argv[0], " still running after ",
                                          absl::FormatDuration(timeout)));
          },
          timeout, absl::Milliseconds(20));
      if (!done.ok()) {
        kill(*pid, SIGKILL);
        waitpid(*pid, nullptr, 0);
        result = done;
      } else {
        CommandResult r;
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        r.out = ReadFile(out_pattern);
        r.err = ReadFile(err_pattern);
        result = std::move(r);
      }
    }
  }
  close(out_fd);
  close(err_fd);
  unlink(out_pattern);
  unlink(err_pattern);
  return result;
}

absl::StatusOr<HttpResponse> HttpGet(int port, const std::string& target,
                                     absl::Duration timeout) {
  return HttpGet("127.0.0.1", port, target, timeout);
}

absl::StatusOr<HttpResponse> HttpGet(const std::string& ipv4, int port,
                                     const std::string& target,
                                     absl::Duration timeout) {
  in_addr ip{};
  if (inet_pton(AF_INET, ipv4.c_str(), &ip) != 1) {
    return absl::InvalidArgumentError("not an IPv4 address: " + ipv4);
  }
  const absl::Time deadline = absl::Now() + timeout;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr = ip;
  auto wait_for = [&](short events) -> absl::Status {
    int ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) return absl::DeadlineExceededError("HTTP GET timed out");
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, ms);
    if (r < 0) return absl::ErrnoToStatus(errno, "poll");
    if (r == 0) return absl::DeadlineExceededError("HTTP GET timed out");
    return absl::OkStatus();
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return absl::ErrnoToStatus(errno, "connect");
    if (auto s = wait_for(POLLOUT); !s.ok()) return s;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return absl::ErrnoToStatus(err, "connect");
  }
  const std::string request =
      absl::StrCat("GET ", target, " HTTP/1.0\r\nHost: 127.0.0.1:", port,
                   "\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) return absl::ErrnoToStatus(errno, "send");
      if (auto s = wait_for(POLLOUT); !s.ok()) return s;
      continue;
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN) {
      if (auto s = wait_for(POLLIN); !s.ok()) return s;
    } else {
      return absl::ErrnoToStatus(errno, "recv");
    }
  }
  size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos ||
      raw.size() < 12) {
    return absl::InternalError(
        absl::StrCat("not an HTTP response: ", raw.substr(0, 200)));
  }
  HttpResponse response;
  response.status = std::atoi(raw.c_str() + 9);
  response.body = raw.substr(header_end + 4);
  return response;
}

std::string UrlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

absl::StatusOr<std::vector<Sample>> ParseExposition(const std::string& body) {
  std::vector<Sample> samples;
  std::istringstream in(body);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](const char* why) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": ", why, ": ", line));
    };
    Sample sample;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = line.substr(0, i);
    if (sample.name.empty()) return bad("no metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() ||
            line[eq + 1] != '"') {
          return bad("label without =\"");
        }
        std::string name = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return bad("unterminated label value");
        sample.labels.emplace_back(std::move(name), std::move(value));
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return bad("unterminated label set");
      ++i;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    size_t end = line.find(' ', i);
    sample.value = line.substr(i, end == std::string::npos ? end : end - i);
    if (sample.value.empty()) return bad("no value");
    samples.push_back(std::move(sample));
  }
  return samples;
}

absl::StatusOr<std::unique_ptr<Agent>> Agent::Start(sim::SimHost& host) {
  auto binary = Runfile("xenlet/agent/xenlet");
  if (!binary.ok()) return binary.status();
  const std::string socket = host.dir() + "/xenlet.sock";
  std::vector<std::string> argv = {
      *binary, "--socket",          socket,        "--sweep-interval",
      "0.2",   "--metrics-address", "127.0.0.1:0", "--shutdown-grace",
      "1"};
  auto process = ChildProcess::Start(argv, ChildEnv(host.PreloadEnv()),
                                     host.dir() + "/agent.log");
  if (!process.ok()) return process.status();
  std::unique_ptr<Agent> agent(new Agent());
  agent->process_ = std::move(*process);
  // The log line: "... INFO metrics_serving address=127.0.0.1:0 port=N".
  auto port = agent->process_->WaitForLog(
      std::regex("metrics_serving[^\\n]* port=([0-9]+)"), absl::Seconds(20));
  if (!port.ok()) {
    return absl::Status(
        port.status().code(),
        absl::StrCat("xenlet's metrics port: ", port.status().message()));
  }
  agent->metrics_port_ = std::stoi(*port);
  agent->channel_ =
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(agent->channel_);
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(&context, {}, &response);
  if (!status.ok() ||
      response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(
        absl::StrCat("xenlet is not SERVING: ", status.error_message(),
                     "; log:\n", agent->process_->Log()));
  }
  return agent;
}

Agent::~Agent() {
  if (process_ != nullptr && process_->Running()) {
    (void)process_->Stop(SIGTERM, absl::Seconds(10));
  }
}

absl::Status Agent::Stop() {
  auto status = process_->Stop(SIGTERM, absl::Seconds(10));
  if (!status.ok()) return status.status();
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::InternalError(absl::StrCat(
        "xenlet exited with status ", *status, "; log:\n", process_->Log()));
  }
  return absl::OkStatus();
}

}  // namespace xenlet::metrics_test

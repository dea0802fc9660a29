#include "tests/fleet/nats_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace xenlet::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The nats-server on PATH (Bazel's tests get the caller's PATH).
std::string FindServerBinary() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/nats-server";
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "/usr/bin/nats-server";
}

// The client port in a ports file, {"nats":["nats://127.0.0.1:4222"],...},
// or 0 if it has none (yet: the file may be half written).
int ClientPortFromPortsFile(const std::string& text) {
  size_t key = text.find("\"nats\"");
  if (key == std::string::npos) return 0;
  size_t open = text.find('"', text.find('[', key));
  size_t close = text.find('"', open + 1);
  if (open == std::string::npos || close == std::string::npos) return 0;
  std::string url = text.substr(open + 1, close - open - 1);
  size_t colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  return std::atoi(url.c_str() + colon + 1);
}

// Waits up to `timeout` for the process behind `pidfd` to exit; true if it
// did.
bool WaitForExit(int pidfd, std::chrono::milliseconds timeout) {
  pollfd fd{pidfd, POLLIN, 0};
  return poll(&fd, 1, static_cast<int>(timeout.count())) == 1;
}

}  // namespace

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

std::unique_ptr<NatsServer> NatsServer::Start(
    const NatsServerOptions& options) {
  std::unique_ptr<NatsServer> server(new NatsServer(options));
  if (!server->Launch()) return nullptr;
  return server;
}

NatsServer::~NatsServer() { Stop(); }

std::string NatsServer::url() const {
  bool tls = !options_.tls_cert.empty();
  return std::string(tls ? "tls" : "nats") + "://" + options_.address + ":" +
         std::to_string(port_);
}

std::string NatsServer::Log() const {
  const std::string base = options_.dir + "/" + options_.name;
  return ReadFile(base + ".out") + ReadFile(base + ".log");
}

bool NatsServer::Launch() {
  const std::string base = options_.dir + "/" + options_.name;
  const std::string ports_dir = base + ".ports";
  std::filesystem::create_directories(ports_dir);

  std::vector<std::string> args = {
      FindServerBinary(),
      "--addr",
      options_.address,
      // -1: a random free port, which the ports file then names.
      "--port",
      port_ > 0 ? std::to_string(port_)
                : (options_.port > 0 ? std::to_string(options_.port) : "-1"),
      "--jetstream",
      "--store_dir",
      base + ".store",
      "--ports_file_dir",
      ports_dir,
      "--log",
      base + ".log",
      "--server_name",
      options_.name,
  };
  if (!options_.tls_cert.empty()) {
    args.insert(args.end(),
                {options_.tls_verify_ca.empty() ? "--tls" : "--tlsverify",
                 "--tlscert", options_.tls_cert, "--tlskey", options_.tls_key});
    if (!options_.tls_verify_ca.empty()) {
      args.insert(args.end(), {"--tlscacert", options_.tls_verify_ca});
    }
  }
  if (!options_.user.empty()) {
    args.insert(args.end(),
                {"--user", options_.user, "--pass", options_.password});
  }
  if (options_.cluster_port > 0) {
    std::string routes;
    for (const std::string& route : options_.routes) {
      routes += (routes.empty() ? "" : ",") + route;
    }
    args.insert(args.end(),
                {"--cluster",
                 "nats://" + options_.address + ":" +
                     std::to_string(options_.cluster_port),
                 "--cluster_name", options_.cluster_name, "--routes", routes});
  }
  args.insert(args.end(), options_.extra_args.begin(),
              options_.extra_args.end());

  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int out = open((base + ".out").c_str(),
                 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    ADD_FAILURE() << "cannot create " << base << ".out";
    return false;
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec. It dies with
    // the test's main thread.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out, 1);
    dup2(out, 2);
    int null_in = open("/dev/null", O_RDONLY);
    if (null_in >= 0) dup2(null_in, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return false;
  }
  pid_ = pid;
  // Debian 12's <sys/pidfd.h> lacks extern "C"; call the kernel directly.
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd_ < 0) {
    ADD_FAILURE() << "pidfd_open: " << std::strerror(errno);
    Stop();
    return false;
  }

  // nats-server tells no one when it is ready; it writes the ports file
  // once it listens. Poll for that file, bounded, waking early if the
  // server exits.
  const std::string ports_file =
      ports_dir + "/nats-server_" + std::to_string(pid) + ".ports";
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (true) {
    int port = ClientPortFromPortsFile(ReadFile(ports_file));
    if (port > 0) {
      port_ = port;
      return true;
    }
    if (Clock::now() > deadline) {
      ADD_FAILURE() << "nats-server did not write " << ports_file
                    << " within 10 s; its output:\n"
                    << Log();
      Stop();
      return false;
    }
    if (WaitForExit(pidfd_, std::chrono::milliseconds(10))) {
      ADD_FAILURE() << "nats-server exited at start; its output:\n" << Log();
      Stop();
      return false;
    }
  }
}

bool NatsServer::Stop() {
  if (pid_ <= 0) return true;
  bool graceful = true;
  kill(pid_, SIGTERM);
  if (pidfd_ < 0 || !WaitForExit(pidfd_, std::chrono::seconds(10))) {
    graceful = false;
    kill(pid_, SIGKILL);
  }
  waitpid(pid_, nullptr, 0);
  if (pidfd_ >= 0) close(pidfd_);
  pid_ = -1;
  pidfd_ = -1;
  return graceful;
}

void NatsServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  if (pidfd_ >= 0) close(pidfd_);
  pid_ = -1;
  pidfd_ = -1;
}

bool NatsServer::Restart() {
  Stop();
  return Launch();
}

std::unique_ptr<NatsCluster> NatsCluster::Start(
    const std::string& dir, const std::vector<std::string>& addresses) {
  if (!addresses.empty() && addresses.size() != 3) {
    ADD_FAILURE() << "a cluster has 3 members, not " << addresses.size();
    return nullptr;
  }
  auto cluster = std::make_unique<NatsCluster>();
  std::vector<int> route_ports;
  std::vector<std::string> routes;
  for (int i = 0; i < 3; ++i) {
    route_ports.push_back(addresses.empty() ? PickFreePort() : 6222);
    routes.push_back("nats://" +
                     (addresses.empty() ? "127.0.0.1" : addresses[i]) + ":" +
                     std::to_string(route_ports[i]));
  }
  for (int i = 0; i < 3; ++i) {
    NatsServerOptions options;
    options.dir = dir;
    options.name = "n" + std::to_string(i + 1);
    if (!addresses.empty()) {
      options.address = addresses[i];
      options.port = 4222;
    }
    options.cluster_port = route_ports[i];
    options.cluster_name = "xenlet-test";
    options.routes = routes;
    auto server = NatsServer::Start(options);
    if (server == nullptr) return nullptr;
    cluster->servers_.push_back(std::move(server));
  }
  // The servers elect a JetStream meta leader among themselves and log it;
  // there is no other event to wait for. Poll the logs, bounded.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    for (auto& server : cluster->servers_) {
      std::string log = server->Log();
      if (log.find("JetStream cluster new metadata leader") !=
              std::string::npos ||
          log.find("Self is new JetStream cluster metadata leader") !=
              std::string::npos) {
        return cluster;
      }
    }
    // Any member exiting ends the wait early.
    if (WaitForExit(cluster->servers_[0]->pidfd_,
                    std::chrono::milliseconds(50))) {
      break;
    }
  }
  std::string logs;
  for (auto& server : cluster->servers_) logs += server->Log();
  ADD_FAILURE() << "the nats cluster elected no JetStream meta leader; logs:\n"
                << logs;
  return nullptr;
}

NatsServer* NatsCluster::Find(const std::string& name) {
  for (auto& server : servers_) {
    if (server->name() == name) return server.get();
  }
  return nullptr;
}

std::string NatsCluster::urls() const {
  std::string urls;
  for (const auto& server : servers_) {
    urls += (urls.empty() ? "" : ",") + server->url();
  }
  return urls;
}

}  // namespace xenlet::testing

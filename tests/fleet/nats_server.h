// A real nats-server (Debian's /usr/bin/nats-server, found on PATH) with
// JetStream, for the tests of fleet/nats: its store, log and ports file in
// the test's own directory, listening on a loopback port it picks itself
// (learned from the ports file it writes, --ports_file_dir), and stopped
// (SIGTERM, then SIGKILL after 10 s, reaped) with the object. It is started
// with PR_SET_PDEATHSIG, so a test that crashes does not leave it behind.
//
//   xenlet::testing::TempDir dir;
//   auto server = NatsServer::Start({.dir = dir.path()});
//   ASSERT_NE(server, nullptr);
//   ... connect to server->url() ...
//   server->Stop();     // the connection is lost
//   server->Restart();  // same port, same store: it comes back
//
// NatsCluster: three servers with routes between them, one JetStream
// cluster (replicas up to 3), for failover tests.
#ifndef XENLET_TESTS_FLEET_NATS_SERVER_H_
#define XENLET_TESTS_FLEET_NATS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace xenlet::testing {

struct NatsServerOptions {
  // Where the server's files go: <dir>/<name>.store (JetStream),
  // <dir>/<name>.log, <dir>/<name>.out (stdout and stderr) and the ports
  // file under <dir>/<name>.ports/.
  std::string dir;
  std::string name = "nats";
  // The address it listens on, for clients and routes alike.
  std::string address = "127.0.0.1";
  // The client port; 0: one the server picks (the first start only; a
  // restart keeps it).
  int port = 0;
  // TLS: the server's certificate and key; with tls_verify_ca, clients
  // must show a certificate from that CA.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_verify_ca;
  // Clients must log in as this user.
  std::string user;
  std::string password;
  // Clustering: this server's route port (0: none) and the route URLs of
  // all members; a cluster also needs a cluster name.
  int cluster_port = 0;
  std::string cluster_name;
  std::vector<std::string> routes;
  std::vector<std::string> extra_args;
};

class NatsServer {
 public:
  // Starts the server and waits (up to 10 s) until it has written its
  // ports file. On failure records a gtest failure (with the server's
  // output) and returns nullptr.
  static std::unique_ptr<NatsServer> Start(const NatsServerOptions& options);
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // SIGTERM, and SIGKILL if it has not exited 10 s later; reaped. Returns
  // false if it had to be killed. No-op when not running.
  bool Stop();
  // SIGKILL, reaped: a node lost without a goodbye. No-op when not running.
  void Kill();
  // Starts it again with the same port, store and options; false (and a
  // gtest failure) if it does not come up.
  bool Restart();

  const std::string& name() const { return options_.name; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // nats://127.0.0.1:<port> (tls://... with TLS).
  std::string url() const;
  // The server's log so far, for failure messages.
  std::string Log() const;

 private:
  friend class NatsCluster;
  explicit NatsServer(const NatsServerOptions& options) : options_(options) {}
  bool Launch();

  NatsServerOptions options_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int port_ = 0;
};

// Three nats-servers in one JetStream cluster, named n1, n2 and n3: on
// loopback, each on ports of its own, or each on an address of its own
// (the fleet harness's bridge) with the usual ports, 4222 for clients and
// 6222 for routes.
class NatsCluster {
 public:
  // Starts them and waits (up to 30 s) until the cluster has a JetStream
  // meta leader, i.e. streams with replicas 3 can be created. nullptr (and
  // a gtest failure) if not. `addresses`: empty, or three.
  static std::unique_ptr<NatsCluster> Start(
      const std::string& dir, const std::vector<std::string>& addresses = {});

  NatsServer& server(int i) { return *servers_[i]; }
  int size() const { return static_cast<int>(servers_.size()); }
  // The member with that server name, or null.
  NatsServer* Find(const std::string& name);
  // Every member's client URL, comma-separated.
  std::string urls() const;

 private:
  std::vector<std::unique_ptr<NatsServer>> servers_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound, then closed):
// for ports that must be known before a server starts, e.g. route ports.
int PickFreePort();

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_FLEET_NATS_SERVER_H_

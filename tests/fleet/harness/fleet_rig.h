// The fleet harness's rig (docs/fleet.md 2.7): K simulated hosts and a
// three-node JetStream cluster on a network of their own, and the
// orchestrator's reader outside it.
//
//   - The network: tests/fleet/harness/fleet_net.sh (bridge xlf-nats with
//     10.77.0.1-3, namespace xlf-h<i> with 10.77.<i>.2 per host). Root and
//     `ip netns` are needed.
//   - NATS: n1, n2, n3 on 10.77.0.1-3:4222 (routes on :6222), their stores
//     under the rig's directory.
//   - Host i (id "h<i>"): `xensim --dir DIR/h<i> up` (xenstored, the fake
//     hypervisor's state, simulated guests), the agent on
//     DIR/h<i>/xenlet.sock, and xenlet-publish inside namespace xlf-h<i>,
//     reaching the agent over its unix socket (which crosses namespaces)
//     and NATS over the veth only, its metrics on 10.77.<i>.2:9465.
//   - The reader: fleet::FleetReader in this process, in the root
//     namespace, on all three NATS addresses.
//
// Everything the rig started is stopped, and the network removed, when it
// is destroyed; its children also die with the thread that started them
// (PR_SET_PDEATHSIG). The xensim daemons and the network outlive a crash:
// the wrapper (fleet_harness_test.sh) removes them then.
#ifndef XENLET_TESTS_FLEET_HARNESS_FLEET_RIG_H_
#define XENLET_TESTS_FLEET_HARNESS_FLEET_RIG_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fleet/reader/fleet_reader.h"
#include "tests/fleet/nats_server.h"
#include "tests/testing/child_process.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::fleet::harness {

// Where the programs are (from the caller's runfiles).
struct RigBinaries {
  std::string agent;      // agent/xenlet
  std::string publisher;  // fleet/publisher/xenlet-publish
  std::string xensim;     // sim/xensim
  std::string bootstorm;  // tools/bootstorm/bootstorm
  std::string xenletctl;  // tools/xenletctl/xenletctl
  std::string fleet_net;  // tests/fleet/harness/fleet_net.sh
  // From the runfiles of the program `argv0` (empty in a test: the
  // test's), under the workspace `xenlet`.
  static absl::StatusOr<RigBinaries> FromRunfiles(const std::string& argv0);
};

struct RigOptions {
  int hosts = 3;
  // The rig's directory, short enough for unix sockets under it; made by
  // the caller (the wrapper) or, if empty, a fresh /tmp/xlf.XXXXXX.
  std::string dir;
  RigBinaries binaries;
  // The reader's view of a host goes stale when its health is this old.
  absl::Duration stale_after = absl::Seconds(3);
  // xenlet-publish: its BOOKMARK interval (so also how often its health
  // is written while idle) and its NATS ping interval (how soon it notices
  // a cut: after two unanswered pings).
  int bookmark_interval_seconds = 1;
  int ping_interval_seconds = 2;
};

// The storm one host runs: `bootstorm` (sim::Toolstack's libxl steps).
struct StormOptions {
  int domains = 200;
  double rate = 25;  // domains per second, per phase
  int watchers = 0;  // WatchDomains clients of its own (the direct path)
  int keep = 0;      // of the domains, left running at the end
  bool pause_phase = true;
  std::string steps_csv;    // --steps-csv
  std::string latency_csv;  // --latency-csv
};

// What one host's agent holds now.
struct AgentView {
  xenlet::v1::ResumePoint point;
  std::map<uint32_t, xenlet::v1::Domain> domains;
};

class RigHost {
 public:
  RigHost(int index, std::string dir, const RigBinaries& binaries,
          std::vector<std::string> env);

  const std::string& id() const { return id_; }
  int index() const { return index_; }
  const std::string& dir() const { return dir_; }
  std::string socket() const { return dir_ + "/xenlet.sock"; }
  std::string netns() const;
  // 10.77.<i>.2: the host's address inside its namespace.
  std::string address() const;

  absl::Status Up();    // xensim up
  absl::Status Down();  // everything stopped, xensim down
  // Starts the agent and waits (bounded) until it answers.
  absl::Status StartAgent();
  // SIGTERM; error unless it exits 0.
  absl::Status StopAgent();
  absl::Status StartPublisher(const std::string& nats_urls,
                              const RigOptions& options);
  absl::Status StopPublisher();
  absl::Status StartStorm(const StormOptions& storm);
  bool StormRunning() const;
  // Waits for the storm to end; its output if it failed.
  absl::Status WaitStorm(absl::Duration timeout);
  int agent_pid() const { return agent_ ? agent_->pid() : -1; }

  // The agent's domains (every page) and resume point.
  absl::StatusOr<AgentView> Agent() const;
  // (domid, uuid) of the hypervisor's domains: `xensim list`.
  absl::StatusOr<std::map<uint32_t, std::string>> Hypervisor() const;
  // The sum of each sample of `name` on the publisher's /metrics.
  absl::StatusOr<double> PublisherMetric(const std::string& name) const;
  // The tail of a log of this host's ("agent", "publish", "storm").
  std::string LogTail(const std::string& which) const;

 private:
  int index_;
  std::string id_;
  std::string dir_;
  const RigBinaries& binaries_;
  std::vector<std::string> env_;        // the rig's (no LD_PRELOAD)
  std::vector<std::string> agent_env_;  // plus `xensim env`
  std::unique_ptr<testing::Child> agent_, publisher_, storm_;
  std::unique_ptr<xenlet::v1::DomainService::Stub> stub_;
};

// A host's health as the reader saw it change: when it went stale and
// when it came back.
struct StaleFlip {
  std::string host;
  bool stale = false;
  absl::Time at;
};

class FleetRig {
 public:
  static absl::StatusOr<std::unique_ptr<FleetRig>> Start(
      const RigOptions& options,
      std::function<void(const DomainChange&)> on_domain = nullptr);
  ~FleetRig();
  FleetRig(const FleetRig&) = delete;
  FleetRig& operator=(const FleetRig&) = delete;

  int hosts() const { return static_cast<int>(hosts_.size()); }
  RigHost& host(int i) { return *hosts_[i]; }  // 0-based
  testing::NatsCluster& cluster() { return *cluster_; }
  FleetReader& reader() { return *reader_; }
  nats::Connection& connection() { return *connection_; }
  const std::string& dir() const { return options_.dir; }
  // nats://10.77.0.1:4222,nats://10.77.0.2:4222,nats://10.77.0.3:4222
  std::string nats_urls() const;

  // `fleet_net.sh cut|restore <i+1>`.
  absl::Status CutHost(int i);
  absl::Status RestoreHost(int i);
  // The NATS member that leads stream `stream` now.
  absl::StatusOr<testing::NatsServer*> StreamLeader(const std::string& stream);

  // Waits until every host's publisher has caught up with its agent (its
  // health LIVE, at the agent's instance and revision) and the reader's
  // model of the host has the agent's domains. The differences left when
  // the deadline passes otherwise.
  absl::Status WaitConverged(absl::Duration timeout);
  // "" if the reader's model of host i equals the agent's domains (every
  // non-volatile field), else the first difference.
  std::string CompareWithAgent(int i, const AgentView& agent) const;

  std::vector<StaleFlip> stale_flips() const;

 private:
  explicit FleetRig(RigOptions options) : options_(std::move(options)) {}
  absl::Status Net(const std::vector<std::string>& args) const;

  RigOptions options_;
  bool own_dir_ = false;
  bool net_up_ = false;
  std::unique_ptr<testing::NatsCluster> cluster_;
  std::vector<std::unique_ptr<RigHost>> hosts_;
  std::unique_ptr<nats::Connection> connection_;
  std::unique_ptr<FleetReader> reader_;
  // Counts the reader's changes, to wake WaitConverged.
  void NoteChange() ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  std::vector<StaleFlip> flips_ ABSL_GUARDED_BY(mu_);
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::CondVar changed_;
};

// A Domain without its volatile fields (docs/api-guide.md): what a bucket
// value and the agent's listing must agree on.
xenlet::v1::Domain NonVolatile(xenlet::v1::Domain domain);

}  // namespace xenlet::fleet::harness

#endif  // XENLET_TESTS_FLEET_HARNESS_FLEET_RIG_H_

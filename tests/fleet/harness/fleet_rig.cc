#include "tests/fleet/harness/fleet_rig.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "fleet/nats/jetstream.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/testing/subprocess.h"
#include "tools/cpp/runfiles/runfiles.h"

namespace xenlet::fleet::harness {
namespace {

using bazel::tools::cpp::runfiles::Runfiles;
using xenlet::testing::Child;
using xenlet::testing::RunProcess;

constexpr int kPublisherMetricsPort = 9465;

std::string Tail(const std::string& path, size_t bytes = 3000) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

std::string FindOnPath(const std::string& name) {
  const char* path = getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path ? path : "", ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

}  // namespace

absl::StatusOr<RigBinaries> RigBinaries::FromRunfiles(
    const std::string& argv0) {
  std::string error;
  std::unique_ptr<Runfiles> runfiles(argv0.empty()
                                         ? Runfiles::CreateForTest(&error)
                                         : Runfiles::Create(argv0, &error));
  if (runfiles == nullptr) return absl::FailedPreconditionError(error);
  RigBinaries b;
  b.agent = runfiles->Rlocation("xenlet/agent/xenlet");
  b.publisher = runfiles->Rlocation("xenlet/fleet/publisher/xenlet-publish");
  b.xensim = runfiles->Rlocation("xenlet/sim/xensim");
  b.bootstorm = runfiles->Rlocation("xenlet/tools/bootstorm/bootstorm");
  b.xenletctl = runfiles->Rlocation("xenlet/tools/xenletctl/xenletctl");
  b.fleet_net = runfiles->Rlocation("xenlet/tests/fleet/harness/fleet_net.sh");
  for (const std::string* path : {&b.agent, &b.publisher, &b.xensim,
                                  &b.bootstorm, &b.xenletctl, &b.fleet_net}) {
    if (path->empty() || access(path->c_str(), X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat("not in the runfiles: ", *path));
    }
  }
  return b;
}

xenlet::v1::Domain NonVolatile(xenlet::v1::Domain domain) {
  domain.clear_cpu_time_ns();
  domain.clear_vcpus_online();
  domain.clear_memory();
  domain.mutable_flags()->clear_running();
  domain.mutable_flags()->clear_blocked();
  return domain;
}

// ---- RigHost ----

RigHost::RigHost(int index, std::string dir, const RigBinaries& binaries,
                 std::vector<std::string> env)
    : index_(index),
      id_(absl::StrCat("h", index)),
      dir_(std::move(dir)),
      binaries_(binaries),
      env_(std::move(env)) {}

std::string RigHost::netns() const { return absl::StrCat("xlf-h", index_); }
std::string RigHost::address() const {
  return absl::StrCat("10.77.", index_, ".2");
}

absl::Status RigHost::Up() {
  std::filesystem::create_directories(dir_);
  auto up = RunProcess({binaries_.xensim, "--dir", dir_, "up"});
  if (up.code != 0) {
    return absl::InternalError(absl::StrCat("xensim up: ", up.out));
  }
  auto env = RunProcess({binaries_.xensim, "--dir", dir_, "env"});
  if (env.code != 0) {
    return absl::InternalError(absl::StrCat("xensim env: ", env.out));
  }
  agent_env_ = env_;
  for (absl::string_view line : absl::StrSplit(env.out, '\n')) {
    if (absl::ConsumePrefix(&line, "export ")) {
      agent_env_.emplace_back(line);
    }
  }
  return absl::OkStatus();
}

absl::Status RigHost::Down() {
  storm_.reset();
  if (publisher_) (void)StopPublisher();
  if (agent_) (void)StopAgent();
  auto down = RunProcess({binaries_.xensim, "--dir", dir_, "down"});
  return down.code == 0
             ? absl::OkStatus()
             : absl::InternalError(absl::StrCat("xensim down: ", down.out));
}

absl::Status RigHost::StartAgent() {
  agent_ = Child::Start({binaries_.agent, "--socket", socket(),
                         "--metrics-address", "", "--log-level", "warning"},
                        agent_env_, dir_ + "/agent.log");
  if (agent_ == nullptr) return absl::InternalError("cannot start the agent");
  // A channel of its own (no subchannel shared with the one to an agent
  // that went away, whose dead connection would fail the first call).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  stub_ = xenlet::v1::DomainService::NewStub(grpc::CreateCustomChannel(
      "unix:" + socket(), grpc::InsecureChannelCredentials(), args));
  // Ready when it answers (the call waits for the socket: wait_for_ready).
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  xenlet::v1::ListDomainsRequest request;
  request.set_page_size(1);
  xenlet::v1::ListDomainsResponse response;
  grpc::Status s = stub_->ListDomains(&context, request, &response);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat(id_, "'s agent does not answer: ", s.error_message(), "\n",
                     LogTail("agent")));
  }
  return absl::OkStatus();
}

absl::Status RigHost::StopAgent() {
  const int status = agent_->Stop(SIGTERM);
  agent_.reset();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(id_, "'s agent ended with status ",
                                            status, "\n", LogTail("agent")));
  }
  return absl::OkStatus();
}

absl::Status RigHost::StartPublisher(const std::string& nats_urls,
                                     const RigOptions& options) {
  publisher_ = Child::Start(
      {FindOnPath("ip"), "netns", "exec", netns(), binaries_.publisher,
       "--socket", socket(), "-s", nats_urls, "--host-id", id_, "--replicas",
       "3", "--bookmark-interval",
       absl::StrCat(options.bookmark_interval_seconds), "--ping-interval",
       absl::StrCat(options.ping_interval_seconds), "--metrics-address",
       absl::StrCat(address(), ":", kPublisherMetricsPort)},
      env_, dir_ + "/publish.log");
  return publisher_ != nullptr
             ? absl::OkStatus()
             : absl::InternalError("cannot start xenlet-publish");
}

absl::Status RigHost::StopPublisher() {
  const int status = publisher_->Stop(SIGTERM);
  publisher_.reset();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(id_,
                                            "'s publisher ended with status ",
                                            status, "\n", LogTail("publish")));
  }
  return absl::OkStatus();
}

absl::Status RigHost::StartStorm(const StormOptions& storm) {
  std::vector<std::string> argv = {binaries_.bootstorm,
                                   "--dir",
                                   dir_,
                                   "--socket",
                                   socket(),
                                   "--domains",
                                   absl::StrCat(storm.domains),
                                   "--rate",
                                   absl::StrCat(storm.rate),
                                   "--watchers",
                                   absl::StrCat(storm.watchers),
                                   "--keep",
                                   absl::StrCat(storm.keep),
                                   "--display",
                                   "lines",
                                   "--converge-timeout",
                                   "300"};
  if (!storm.pause_phase) argv.push_back("--no-pause-phase");
  if (!storm.steps_csv.empty()) {
    argv.insert(argv.end(), {"--steps-csv", storm.steps_csv});
  }
  if (!storm.latency_csv.empty()) {
    argv.insert(argv.end(), {"--latency-csv", storm.latency_csv});
  }
  if (storm.watchers > 0 && agent_) {
    argv.insert(argv.end(), {"--agent-pid", absl::StrCat(agent_pid())});
  }
  storm_ = Child::Start(argv, env_, dir_ + "/storm.err");
  return storm_ != nullptr ? absl::OkStatus()
                           : absl::InternalError("cannot start bootstorm");
}

bool RigHost::StormRunning() const {
  return storm_ != nullptr && !storm_->Exited();
}

absl::Status RigHost::WaitStorm(absl::Duration timeout) {
  // Its stdout goes to storm.log as it comes, for the failure message.
  std::ofstream log(dir_ + "/storm.log", std::ios::app);
  const absl::Time deadline = absl::Now() + timeout;
  while (auto line = storm_->ReadLine(deadline)) log << *line << "\n";
  log.flush();
  const int status = storm_->Wait(absl::ZeroDuration());
  storm_.reset();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(id_, "'s storm ended with status ",
                                            status, "\n", LogTail("storm")));
  }
  return absl::OkStatus();
}

absl::StatusOr<AgentView> RigHost::Agent() const {
  AgentView view;
  std::string token;
  do {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    xenlet::v1::ListDomainsRequest request;
    request.set_page_size(1000);
    request.set_page_token(token);
    xenlet::v1::ListDomainsResponse response;
    grpc::Status s = stub_->ListDomains(&context, request, &response);
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat(id_, ": ListDomains: ", s.error_message()));
    }
    if (token.empty()) view.point = response.snapshot();
    for (const xenlet::v1::Domain& d : response.domains()) {
      view.domains[d.domid()] = d;
    }
    token = response.next_page_token();
  } while (!token.empty());
  return view;
}

absl::StatusOr<std::map<uint32_t, std::string>> RigHost::Hypervisor() const {
  auto list = RunProcess({binaries_.xensim, "--dir", dir_, "list"});
  if (list.code != 0) {
    return absl::InternalError(absl::StrCat("xensim list: ", list.out));
  }
  std::map<uint32_t, std::string> out;
  for (absl::string_view line : absl::StrSplit(list.out, '\n')) {
    std::vector<absl::string_view> f =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint32_t domid = 0;
    if (f.size() >= 2 && absl::SimpleAtoi(f[0], &domid)) {
      out[domid] = std::string(f[1]);
    }
  }
  return out;
}

absl::StatusOr<double> RigHost::PublisherMetric(const std::string& name) const {
  auto response = metrics_test::HttpGet(address(), kPublisherMetricsPort,
                                        "/metrics", absl::Seconds(5));
  if (!response.ok()) return response.status();
  auto samples = metrics_test::ParseExposition(response->body);
  if (!samples.ok()) return samples.status();
  double sum = 0;
  bool found = false;
  for (const metrics_test::Sample& s : *samples) {
    double value = 0;
    if (s.name == name && absl::SimpleAtod(s.value, &value)) {
      sum += value;
      found = true;
    }
  }
  if (!found) return absl::NotFoundError(name + " not exported");
  return sum;
}

std::string RigHost::LogTail(const std::string& which) const {
  return absl::StrCat("--- ", id_, " ", which, " ---\n",
                      Tail(dir_ + "/" + which + ".log"));
}

// ---- FleetRig ----

absl::StatusOr<std::unique_ptr<FleetRig>> FleetRig::Start(
    const RigOptions& options,
    std::function<void(const DomainChange&)> on_domain) {
  if (options.hosts < 1 || options.hosts > 200) {
    return absl::InvalidArgumentError("hosts: 1 to 200");
  }
  std::unique_ptr<FleetRig> rig(new FleetRig(options));
  if (rig->options_.dir.empty()) {
    char tmpl[] = "/tmp/xlf.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp");
    rig->options_.dir = tmpl;
    rig->own_dir_ = true;
  }
  if (auto s = rig->Net({"up", absl::StrCat(options.hosts)}); !s.ok()) {
    return s;
  }
  rig->net_up_ = true;
  rig->cluster_ = testing::NatsCluster::Start(
      rig->options_.dir, {"10.77.0.1", "10.77.0.2", "10.77.0.3"});
  if (rig->cluster_ == nullptr) {
    return absl::InternalError("the NATS cluster did not start");
  }
  nats::ConnectionOptions nats;
  nats.servers = absl::StrSplit(rig->nats_urls(), ',');
  nats.name = "fleet-harness";
  nats.reconnect_wait = absl::Milliseconds(200);
  nats.ping_interval = absl::Seconds(2);
  auto connection = nats::Connection::Open(nats);
  if (!connection.ok()) return connection.status();
  rig->connection_ = std::move(*connection);

  ReaderOptions reader_options;
  reader_options.stale_after = options.stale_after;
  reader_options.missing_bucket_interval = absl::Milliseconds(200);
  ReaderCallbacks callbacks;
  FleetRig* self = rig.get();
  callbacks.on_domain =
      [self, on_domain = std::move(on_domain)](const DomainChange& change) {
        if (on_domain) on_domain(change);
        self->NoteChange();
      };
  callbacks.on_host = [self](const HostChange& change) {
    if (change.kind != ChangeKind::kDeleted &&
        change.status.stale != change.was_stale) {
      absl::MutexLock lock(&self->mu_);
      self->flips_.push_back({change.host, change.status.stale, absl::Now()});
    }
    self->NoteChange();
  };
  auto reader = FleetReader::Start(nats, reader_options, std::move(callbacks));
  if (!reader.ok()) return reader.status();
  rig->reader_ = std::move(*reader);

  const std::vector<std::string> env = metrics_test::ChildEnv();
  for (int i = 1; i <= options.hosts; ++i) {
    rig->hosts_.push_back(
        std::make_unique<RigHost>(i, absl::StrCat(rig->options_.dir, "/h", i),
                                  rig->options_.binaries, env));
    RigHost& host = *rig->hosts_.back();
    if (auto s = host.Up(); !s.ok()) return s;
    if (auto s = host.StartAgent(); !s.ok()) return s;
    if (auto s = host.StartPublisher(rig->nats_urls(), rig->options_);
        !s.ok()) {
      return s;
    }
  }
  return rig;
}

FleetRig::~FleetRig() {
  // The reader first (it would see every host go), then the hosts, then
  // NATS, which must exit before the network goes.
  if (reader_) reader_->Stop();
  for (auto& host : hosts_) (void)host->Down();
  connection_.reset();
  cluster_.reset();
  if (net_up_) (void)Net({"down"});
  if (own_dir_) std::filesystem::remove_all(options_.dir);
}

std::string FleetRig::nats_urls() const {
  return "nats://10.77.0.1:4222,nats://10.77.0.2:4222,nats://10.77.0.3:4222";
}

absl::Status FleetRig::Net(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {options_.binaries.fleet_net};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = RunProcess(argv);
  if (result.code != 0) {
    return absl::InternalError(absl::StrCat(
        "fleet_net.sh ", absl::StrJoin(args, " "), ": ", result.out));
  }
  return absl::OkStatus();
}

absl::Status FleetRig::CutHost(int i) {
  return Net({"cut", absl::StrCat(hosts_[i]->index())});
}
absl::Status FleetRig::RestoreHost(int i) {
  return Net({"restore", absl::StrCat(hosts_[i]->index())});
}

absl::StatusOr<testing::NatsServer*> FleetRig::StreamLeader(
    const std::string& stream) {
  auto state = nats::GetStreamState(*connection_, stream);
  if (!state.ok()) return state.status();
  testing::NatsServer* leader = cluster_->Find(state->leader);
  if (leader == nullptr) {
    return absl::UnavailableError(
        absl::StrCat(stream, " has no leader (\"", state->leader, "\")"));
  }
  return leader;
}

std::string FleetRig::CompareWithAgent(int i, const AgentView& agent) const {
  const std::string& host = hosts_[i]->id();
  std::map<uint32_t, xenlet::v1::Domain> held;
  const FleetModel model = reader_->Snapshot();
  for (const auto& [ref, record] : model.Domains()) {
    if (ref.host != host) continue;
    if (!held.emplace(ref.domid, record.domain).second) {
      return absl::StrCat(host, ": two keys for domid ", ref.domid);
    }
    if (ref.uuid != record.domain.uuid()) {
      return absl::StrCat(host, ": key ", ref.uuid, " holds uuid ",
                          record.domain.uuid());
    }
  }
  if (held.size() != agent.domains.size()) {
    return absl::StrCat(host, ": the fleet has ", held.size(),
                        " domains, the agent ", agent.domains.size());
  }
  for (const auto& [domid, domain] : agent.domains) {
    auto it = held.find(domid);
    if (it == held.end())
      return absl::StrCat(host, ": domid ", domid, " missing");
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    if (!differencer.Compare(NonVolatile(domain), NonVolatile(it->second))) {
      return absl::StrCat(host, ": domid ", domid, " differs: ", diff);
    }
  }
  return "";
}

void FleetRig::NoteChange() {
  absl::MutexLock lock(&mu_);
  ++changes_;
  changed_.SignalAll();
}

absl::Status FleetRig::WaitConverged(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string why;
  while (true) {
    uint64_t seen;
    {
      absl::MutexLock lock(&mu_);
      seen = changes_;
    }
    why.clear();
    for (int i = 0; i < hosts() && why.empty(); ++i) {
      auto agent = hosts_[i]->Agent();
      if (!agent.ok()) {
        why = std::string(agent.status().message());
        break;
      }
      const FleetModel model = reader_->Snapshot();
      auto health = model.Hosts().find(hosts_[i]->id());
      if (health == model.Hosts().end()) {
        why = absl::StrCat(hosts_[i]->id(), ": no health yet");
      } else if (const auto& h = health->second.health;
                 h.state() != fleet::v1::HostHealth::STATE_LIVE ||
                 h.resume().instance_id() != agent->point.instance_id() ||
                 h.resume().revision() != agent->point.revision()) {
        why = absl::StrCat(hosts_[i]->id(), ": health ",
                           fleet::v1::HostHealth::State_Name(h.state()), " at ",
                           h.resume().instance_id(), ":", h.resume().revision(),
                           ", agent at ", agent->point.instance_id(), ":",
                           agent->point.revision());
      } else {
        why = CompareWithAgent(i, *agent);
      }
    }
    if (why.empty()) return absl::OkStatus();
    if (absl::Now() > deadline) break;
    // What can make it converge reaches the reader (a publisher's event or
    // health write): wait for its next change. At most a second, for the
    // agents' side, which the reader does not see.
    absl::MutexLock lock(&mu_);
    const absl::Time until = std::min(deadline, absl::Now() + absl::Seconds(1));
    while (changes_ == seen && absl::Now() < until) {
      changed_.WaitWithDeadline(&mu_, until);
    }
  }
  std::string logs;
  for (auto& host : hosts_) logs += host->LogTail("publish");
  return absl::DeadlineExceededError(absl::StrCat("not converged after ",
                                                  absl::FormatDuration(timeout),
                                                  ": ", why, "\n", logs));
}

std::vector<StaleFlip> FleetRig::stale_flips() const {
  absl::MutexLock lock(&mu_);
  return flips_;
}

}  // namespace xenlet::fleet::harness

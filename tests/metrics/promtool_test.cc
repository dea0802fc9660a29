// xenlet's /metrics as Prometheus' own linter sees it: the real agent on a
// private simulated host, with domains, gRPC calls of several methods and
// codes, watch events and failed sweeps behind it, is scraped over HTTP and
// its exposition must pass `promtool check metrics` without a word. Every
// label must be one of a fixed set with few values (no domid, uuid or name
// labels), and every metric the deploy/ rules and dashboard use must exist.
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tests/metrics/metrics_test_util.h"
#include "xenlet/v1/domain_service.grpc.pb.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet::metrics_test {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr int kDomains = 4;  // created by the toolstack, besides dom0

// Label names the agent may export; each has a small fixed set of values.
const std::set<std::string>& AllowedLabels() {
  static const auto* labels = new std::set<std::string>{
      "kind",  "errno",  "op",      "outcome", "method",  "code",
      "state", "reason", "version", "le",      "quantile"};
  return *labels;
}

// Every family the agent documents, present once the traffic below ran.
// (xenlet_xenstore_request_errors_total appears with the first failed
// xenstore request, which this host does not produce.)
const std::vector<std::string>& RequiredFamilies() {
  static const auto* families = new std::vector<std::string>{
      "xenlet_hypercalls_total",
      "xenlet_hypercall_errors_total",
      "xenlet_hypercall_duration_seconds",
      "xenlet_xenstore_requests_total",
      "xenlet_xenstore_transactions_total",
      "xenlet_xenstore_watch_events_total",
      "xenlet_grpc_requests_total",
      "xenlet_grpc_request_duration_seconds",
      "xenlet_sweep_duration_seconds",
      "xenlet_event_latency_seconds",
      "xenlet_domains",
      "xenlet_model_revision",
      "xenlet_event_log_events",
      "xenlet_event_log_bytes",
      "xenlet_sweeps_total",
      "xenlet_sweep_failures_total",
      "xenlet_sweep_domains",
      "xenlet_sweep_last_success_timestamp_seconds",
      "xenlet_sweep_consecutive_failures",
      "xenlet_model_stale",
      "xenlet_sweep_repairs_total",
      "xenlet_xenstore_reconnects_total",
      "xenlet_xenstore_connection_state",
      "xenlet_watch_streams",
      "xenlet_watch_streams_refused_total",
      "xenlet_watch_queue_max_events",
      "xenlet_watch_coalesced_events_total",
      "xenlet_watch_events_sent_total",
      "xenlet_watch_events_encoded_total",
      "xenlet_watch_resyncs_total",
      "xenlet_build_info",
  };
  return *families;
}

double SumOf(const std::vector<Sample>& samples, const std::string& name,
             const std::map<std::string, std::string>& match = {}) {
  double sum = 0;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      bool found = false;
      for (const auto& [lk, lv] : s.labels) found |= lk == k && lv == v;
      all &= found;
    }
    if (all) sum += std::stod(s.value);
  }
  return sum;
}

class PromtoolTest : public ::testing::Test {
 protected:
  // One host, one agent and one round of traffic for the whole suite.
  static void SetUpTestSuite() {
    ASSERT_EQ(access(kPromtool, X_OK), 0)
        << kPromtool
        << " is missing: tools/setup.sh installs Debian's prometheus";
    auto host = sim::SimHost::Start();
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = host->release();
    auto toolstack = host_->NewToolstack();
    ASSERT_TRUE(toolstack.ok()) << toolstack.status();
    sim::DomainSpec spec;
    for (int i = 0; i < kDomains - 1; ++i) {
      spec.name = absl::StrCat("before-", i);
      ASSERT_TRUE((*toolstack)->CreateDomain(spec).ok());
    }
    auto agent = Agent::Start(*host_);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = agent->release();
    MakeTraffic(**toolstack);
    FetchMetrics();
  }

  static void TearDownTestSuite() {
    if (agent_ != nullptr) {
      EXPECT_TRUE(agent_->Stop().ok());
      delete agent_;
      agent_ = nullptr;
    }
    delete host_;
    host_ = nullptr;
  }

  // gRPC calls of several methods and codes, a watch stream that sees an
  // event and is cancelled, and two failed sweeps.
  static void MakeTraffic(sim::Toolstack& toolstack) {
    auto deadline = [] {
      return std::chrono::system_clock::now() + std::chrono::seconds(10);
    };
    auto domains = v1::DomainService::NewStub(agent_->channel());
    {
      grpc::ClientContext context;
      context.set_deadline(deadline());
      v1::ListDomainsResponse response;
      ASSERT_TRUE(domains->ListDomains(&context, {}, &response).ok());
    }
    {
      grpc::ClientContext context;
      context.set_deadline(deadline());
      v1::GetDomainsRequest request;
      request.add_selectors()->set_domid(1);
      request.add_selectors()->set_domid(999);  // NOT_FOUND in its item
      v1::GetDomainsResponse response;
      ASSERT_TRUE(domains->GetDomains(&context, request, &response).ok());
    }
    {
      grpc::ClientContext context;
      context.set_deadline(deadline());
      v1::GetDomainsRequest request;
      request.add_selectors()->set_domid(40000);  // not a domid
      v1::GetDomainsResponse response;
      EXPECT_EQ(domains->GetDomains(&context, request, &response).error_code(),
                grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
      auto host = v1::HostService::NewStub(agent_->channel());
      grpc::ClientContext context;
      context.set_deadline(deadline());
      v1::Host response;
      ASSERT_TRUE(host->GetHost(&context, {}, &response).ok());
    }
    {
      // A method nobody defined: must be counted as method="other".
      grpc::ClientContext context;
      context.set_deadline(deadline());
      v1::GetHostRequest request;
      v1::Host response;
      grpc::Status status = grpc::internal::BlockingUnaryCall(
          agent_->channel().get(),
          grpc::internal::RpcMethod("/xenlet.v1.Invented/Method-12345",
                                    grpc::internal::RpcMethod::NORMAL_RPC),
          &context, request, &response);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    }
    {
      grpc::ClientContext context;
      v1::WatchDomainsRequest request;
      request.set_initial_state(true);
      auto reader = domains->WatchDomains(&context, request);
      v1::WatchDomainsResponse event;
      while (reader->Read(&event) && event.type() != v1::EVENT_TYPE_SYNCED) {
      }
      ASSERT_EQ(event.type(), v1::EVENT_TYPE_SYNCED);
      sim::DomainSpec spec;
      spec.name = "during-watch";
      auto created = toolstack.CreateDomain(spec);
      ASSERT_TRUE(created.ok()) << created.status();
      bool added = false;
      while (!added && reader->Read(&event)) {
        added = event.type() == v1::EVENT_TYPE_ADDED &&
                event.domain().domid() == created->domid;
      }
      ASSERT_TRUE(added);
      context.TryCancel();
      while (reader->Read(&event)) {
      }
      EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
    }
    // The next two sweeps fail (EAGAIN): sweep failures, hypercall errors.
    host_->state().InjectError(xen::HypercallKind::kGetDomainInfoList, EAGAIN,
                               2);
  }

  // Scrapes until the traffic above shows (the stream's status and the
  // failed sweeps are counted asynchronously), bounded.
  static void FetchMetrics() {
    absl::Status ready = PollUntil(
        [&]() -> absl::Status {
          auto response =
              HttpGet(agent_->metrics_port(), "/metrics", absl::Seconds(5));
          if (!response.ok()) return response.status();
          if (response->status != 200) {
            return absl::UnavailableError(
                absl::StrCat("HTTP ", response->status));
          }
          auto samples = ParseExposition(response->body);
          if (!samples.ok()) return samples.status();
          std::vector<std::string> missing;
          if (SumOf(*samples, "xenlet_domains") != kDomains + 1) {
            missing.push_back("all domains in xenlet_domains");
          }
          if (SumOf(*samples, "xenlet_grpc_requests_total",
                    {{"method", "/xenlet.v1.DomainService/WatchDomains"},
                     {"code", "CANCELLED"}}) < 1) {
            missing.push_back("the cancelled watch");
          }
          if (SumOf(*samples, "xenlet_event_latency_seconds_count") < 1) {
            missing.push_back("an event latency");
          }
          // Both, as one scrape reads the registry's counters and the
          // model's state at two moments: a sweep failing in between shows
          // in the second only.
          if (SumOf(*samples, "xenlet_sweep_failures_total") < 2 ||
              SumOf(*samples, "xenlet_hypercall_errors_total",
                    {{"kind", "getdomaininfolist"}, {"errno", "EAGAIN"}}) < 2) {
            missing.push_back("two failed sweeps");
          }
          if (!missing.empty()) {
            return absl::UnavailableError(
                absl::StrCat("not yet: ", missing.front()));
          }
          body_ = new std::string(response->body);
          samples_ = new std::vector<Sample>(std::move(*samples));
          return absl::OkStatus();
        },
        absl::Seconds(20));
    ASSERT_TRUE(ready.ok()) << ready;
  }

  void SetUp() override {
    ASSERT_NE(body_, nullptr) << "the suite's setup failed";
  }

  // Runs promtool check metrics on text; exit code and all it printed.
  static CommandResult CheckMetrics(const std::string& text) {
    const std::string path = host_->dir() + "/metrics.txt";
    EXPECT_TRUE(WriteFile(path, text).ok());
    auto result = RunCommand({kPromtool, "check", "metrics"}, path, "",
                             absl::Seconds(20));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }

  static sim::SimHost* host_;
  static Agent* agent_;
  static std::string* body_;
  static std::vector<Sample>* samples_;
};

sim::SimHost* PromtoolTest::host_ = nullptr;
Agent* PromtoolTest::agent_ = nullptr;
std::string* PromtoolTest::body_ = nullptr;
std::vector<Sample>* PromtoolTest::samples_ = nullptr;

TEST_F(PromtoolTest, PromtoolFindsNothingToComplainAbout) {
  CommandResult result = CheckMetrics(*body_);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "") << "promtool warns:\n" << result.err;
}

// The check above is only worth something if promtool does lint: a
// counter without _total must be reported.
TEST_F(PromtoolTest, PromtoolDoesComplainAboutABadExposition) {
  CommandResult result = CheckMetrics(
      "# HELP bad_requests Requests.\n# TYPE bad_requests counter\n"
      "bad_requests 1\n");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE((result.out + result.err).find("_total"), std::string::npos)
      << result.out << result.err;
}

TEST_F(PromtoolTest, EveryDocumentedFamilyIsExported) {
  for (const std::string& family : RequiredFamilies()) {
    EXPECT_NE(body_->find(absl::StrCat("\n# TYPE ", family, " ")),
              std::string::npos)
        << family << " is not exported";
  }
  EXPECT_EQ(SumOf(*samples_, "xenlet_hypercall_errors_total",
                  {{"kind", "getdomaininfolist"}, {"errno", "EAGAIN"}}),
            2);
  EXPECT_EQ(SumOf(*samples_, "xenlet_grpc_requests_total",
                  {{"method", "other"}, {"code", "UNIMPLEMENTED"}}),
            1);
  EXPECT_EQ(SumOf(*samples_, "xenlet_build_info"), 1);
}

TEST_F(PromtoolTest, LabelsAreFewAndBounded) {
  const std::regex number("^[0-9]+$");
  const std::regex uuid(
      "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
      "[0-9a-fA-F]{12}");
  // (metric family, label) -> distinct values.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> values;
  for (const Sample& s : *samples_) {
    for (const auto& [name, value] : s.labels) {
      EXPECT_TRUE(AllowedLabels().count(name))
          << s.name << " has label " << name << "=\"" << value
          << "\", not in the allow-list";
      if (name != "le" && name != "quantile") {
        EXPECT_FALSE(std::regex_match(value, number))
            << s.name << "{" << name << "=\"" << value
            << "\"}: a number as a label value (a domid?)";
      }
      EXPECT_FALSE(std::regex_search(value, uuid))
          << s.name << "{" << name << "=\"" << value << "\"}: a uuid";
      EXPECT_EQ(value.find("before-"), std::string::npos)
          << s.name << "{" << name << "=\"" << value << "\"}: a domain name";
      if (name == "method") {
        EXPECT_TRUE(value == "other" || value.rfind("/xenlet.v1.", 0) == 0 ||
                    value.rfind("/grpc.", 0) == 0)
            << value;
      }
      std::string family = s.name;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (family.size() > strlen(suffix) &&
            family.compare(family.size() - strlen(suffix), strlen(suffix),
                           suffix) == 0) {
          family.resize(family.size() - strlen(suffix));
        }
      }
      values[{family, name}].insert(value);
    }
  }
  for (const auto& [key, set] : values) {
    EXPECT_LE(set.size(), 32u) << key.first << " has " << set.size()
                               << " values of label " << key.second;
  }
}

// Every xenlet_ metric named by deploy/prometheus/xenlet.rules.yml and
// deploy/grafana/xenlet-dashboard.json is one the agent exports (with a
// histogram's _bucket/_sum/_count), so a rename cannot silently empty a
// panel or disarm an alert.
TEST_F(PromtoolTest, DeployFilesUseExportedMetrics) {
  std::set<std::string> exported;
  for (const Sample& s : *samples_) exported.insert(s.name);
  // Families exported without samples yet (counters by label).
  std::regex type_line("\n# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ");
  for (std::sregex_iterator it(body_->begin(), body_->end(), type_line), end;
       it != end; ++it) {
    exported.insert((*it)[1].str());
    exported.insert((*it)[1].str() + "_bucket");
  }
  exported.insert("xenlet_xenstore_request_errors_total");  // see above
  // Exported only with a TLS listener, which this agent has not; the
  // scrape in agent_process_test's SIGHUP reload test reads both.
  exported.insert("xenlet_tls_reloads_total");
  exported.insert("xenlet_tls_certificate_expiry_timestamp_seconds");
  for (const char* file : {"xenlet/deploy/prometheus/xenlet.rules.yml",
                           "xenlet/deploy/grafana/xenlet-dashboard.json"}) {
    auto path = Runfile(file);
    ASSERT_TRUE(path.ok()) << path.status();
    const std::string text = ReadFile(*path);
    std::regex metric("xenlet_[a-z0-9_]+");
    int used = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), metric), end;
         it != end; ++it) {
      const std::string name = it->str();
      // level:metric:operations, a recording rule's name, not a metric.
      if (it->position() > 0 && text[it->position() - 1] == ':') continue;
      ++used;
      EXPECT_TRUE(exported.count(name))
          << file << " uses " << name << ", which xenlet does not export";
    }
    EXPECT_GT(used, 10) << file;
  }
}

}  // namespace
}  // namespace xenlet::metrics_test

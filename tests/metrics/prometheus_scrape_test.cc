// A real Prometheus server (Debian's /usr/bin/prometheus) scrapes the real
// agent on a private simulated host every second, with deploy/'s rules
// loaded: what it stores and answers over its HTTP API is checked, i.e.
// what an operator's queries would see (domains, up, build info, the
// recording rules, every panel query of deploy/'s Grafana dashboard).
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/testing/temp_dir.h"
#include "xenlet/v1/domain_service.grpc.pb.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet::metrics_test {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr int kDomains = 5;  // created by the toolstack, besides dom0
constexpr absl::Duration kWait = absl::Seconds(30);

absl::StatusOr<Struct> ParseJson(const std::string& text) {
  Struct out;
  auto status = google::protobuf::util::JsonStringToMessage(text, &out);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not JSON (", status.ToString(), "): ", text));
  }
  return out;
}

const Value& Field(const Struct& s, const std::string& name) {
  static const Value* none = new Value();
  auto it = s.fields().find(name);
  return it == s.fields().end() ? *none : it->second;
}

// One series of an instant vector: its labels and value.
struct Series {
  std::map<std::string, std::string> labels;
  double value = 0;
};

class PrometheusScrapeTest : public ::testing::Test {
 protected:
  // One host, agent and Prometheus for the suite: Prometheus scrapes a new
  // target only ~5 s after it starts (its scrape manager's reload tick).
  static void SetUpTestSuite() {
    ASSERT_EQ(access(kPrometheus, X_OK), 0)
        << kPrometheus
        << " is missing: tools/setup.sh installs Debian's prometheus";
    dir_ = new testing::TempDir();
    auto host = sim::SimHost::Start();
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = host->release();
    auto toolstack = host_->NewToolstack();
    ASSERT_TRUE(toolstack.ok()) << toolstack.status();
    toolstack_ = toolstack->release();
    CreateDomains(kDomains, "boot");
    auto agent = Agent::Start(*host_);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = agent->release();
    // Some gRPC traffic, so that the gRPC series exist.
    auto domains = v1::DomainService::NewStub(agent_->channel());
    auto hosts = v1::HostService::NewStub(agent_->channel());
    for (int i = 0; i < 3; ++i) {
      grpc::ClientContext list_context, host_context;
      v1::ListDomainsResponse list;
      ASSERT_TRUE(domains->ListDomains(&list_context, {}, &list).ok());
      ASSERT_EQ(list.domains_size(), kDomains + 1);
      v1::Host host_info;
      ASSERT_TRUE(hosts->GetHost(&host_context, {}, &host_info).ok());
    }
    StartPrometheus();
    ready_ = !::testing::Test::HasFatalFailure();
  }

  static void TearDownTestSuite() {
    if (prometheus_ != nullptr) {
      auto status = prometheus_->Stop(SIGTERM, absl::Seconds(15));
      EXPECT_TRUE(status.ok()) << status.status();
      if (status.ok()) {
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
            << "prometheus exit status " << *status << "\n"
            << prometheus_->Log();
      }
    }
    delete prometheus_;
    prometheus_ = nullptr;
    if (agent_ != nullptr) {
      EXPECT_TRUE(agent_->Stop().ok());
    }
    delete agent_;
    agent_ = nullptr;
    delete toolstack_;
    toolstack_ = nullptr;
    delete host_;
    host_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(ready_) << "the suite's setup failed"; }

  static void CreateDomains(int count, const std::string& prefix) {
    for (int i = 0; i < count; ++i) {
      sim::DomainSpec spec;
      spec.name = absl::StrCat(prefix, "-", i);
      auto created = toolstack_->CreateDomain(spec);
      ASSERT_TRUE(created.ok()) << created.status();
      ++domains_;
    }
  }

  // Prometheus on 127.0.0.1:<free port>, scraping the agent every second
  // and evaluating deploy/'s rules every second.
  static void StartPrometheus() {
    auto rules = Runfile("xenlet/deploy/prometheus/xenlet.rules.yml");
    ASSERT_TRUE(rules.ok()) << rules.status();
    const std::string rules_copy = dir_->File("xenlet.rules.yml");
    ASSERT_TRUE(WriteFile(rules_copy, ReadFile(*rules)).ok());
    const std::string config = dir_->File("prometheus.yml");
    ASSERT_TRUE(WriteFile(config, absl::StrCat(R"(global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - )",
                                               rules_copy, R"(
scrape_configs:
  - job_name: xenlet
    static_configs:
      - targets: ['127.0.0.1:)",
                                               agent_->metrics_port(), R"(']
)"))
                    .ok());
    auto prometheus = ChildProcess::Start(
        {kPrometheus, "--config.file=" + config,
         "--storage.tsdb.path=" + dir_->File("data"),
         "--web.listen-address=127.0.0.1:0", "--log.level=info"},
        ChildEnv(), dir_->File("prometheus.log"));
    ASSERT_TRUE(prometheus.ok()) << prometheus.status();
    prometheus_ = prometheus->release();
    // Port 0: Prometheus logs the port it got.
    auto port = prometheus_->WaitForLog(
        std::regex("msg=\"Listening on\" address=127\\.0\\.0\\.1:([0-9]+)"),
        absl::Seconds(20));
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = std::stoi(*port);
    absl::Status ready = PollUntil(
        [&]() -> absl::Status {
          auto r = HttpGet(port_, "/-/ready", absl::Seconds(2));
          if (!r.ok()) return r.status();
          return r->status == 200 ? absl::OkStatus()
                                  : absl::UnavailableError(absl::StrCat(
                                        "HTTP ", r->status, " ", r->body));
        },
        absl::Seconds(20));
    ASSERT_TRUE(ready.ok()) << ready << "\n" << prometheus_->Log();
  }

  // GET path on Prometheus' API; the "data" of a successful answer.
  static absl::StatusOr<Value> Api(const std::string& target) {
    auto r = HttpGet(port_, target, absl::Seconds(5));
    if (!r.ok()) return r.status();
    auto json = ParseJson(r->body);
    if (!json.ok()) return json.status();
    if (r->status != 200 ||
        Field(*json, "status").string_value() != "success") {
      return absl::InvalidArgumentError(
          absl::StrCat(target, ": HTTP ", r->status, ": ", r->body));
    }
    return Field(*json, "data");
  }

  // An instant query's vector.
  static absl::StatusOr<std::vector<Series>> Query(const std::string& expr) {
    auto data = Api("/api/v1/query?query=" + UrlEncode(expr));
    if (!data.ok()) return data.status();
    if (Field(data->struct_value(), "resultType").string_value() != "vector") {
      return absl::InvalidArgumentError(absl::StrCat(expr, ": not a vector"));
    }
    std::vector<Series> out;
    for (const Value& v :
         Field(data->struct_value(), "result").list_value().values()) {
      Series series;
      for (const auto& [k, l] :
           Field(v.struct_value(), "metric").struct_value().fields()) {
        series.labels[k] = l.string_value();
      }
      const auto& pair = Field(v.struct_value(), "value").list_value();
      if (pair.values_size() != 2) {
        return absl::InvalidArgumentError(absl::StrCat(expr, ": bad value"));
      }
      series.value = std::stod(pair.values(1).string_value());
      out.push_back(std::move(series));
    }
    return out;
  }

  // Polls expr until it is one series of value want (bounded by kWait).
  static absl::Status WaitForValue(const std::string& expr, double want) {
    return PollUntil(
        [&]() -> absl::Status {
          auto result = Query(expr);
          if (!result.ok()) return result.status();
          if (result->size() == 1 && (*result)[0].value == want) {
            return absl::OkStatus();
          }
          std::string got;
          for (const Series& s : *result) absl::StrAppend(&got, s.value, " ");
          return absl::UnavailableError(absl::StrCat(
              expr, ": want one series of ", want, ", have [", got, "]"));
        },
        kWait, absl::Milliseconds(250));
  }

  static sim::SimHost* host_;
  static sim::Toolstack* toolstack_;
  static Agent* agent_;
  static testing::TempDir* dir_;
  static ChildProcess* prometheus_;
  static int port_;
  static bool ready_;
  // On the host, dom0 included.
  static int domains_;
};

sim::SimHost* PrometheusScrapeTest::host_ = nullptr;
sim::Toolstack* PrometheusScrapeTest::toolstack_ = nullptr;
Agent* PrometheusScrapeTest::agent_ = nullptr;
testing::TempDir* PrometheusScrapeTest::dir_ = nullptr;
ChildProcess* PrometheusScrapeTest::prometheus_ = nullptr;
int PrometheusScrapeTest::port_ = 0;
bool PrometheusScrapeTest::ready_ = false;
int PrometheusScrapeTest::domains_ = 1;

TEST_F(PrometheusScrapeTest, PrometheusSeesTheAgentsModel) {
  // Every domain on the host, dom0 included.
  ASSERT_TRUE(WaitForValue("sum(xenlet_domains)", domains_).ok())
      << WaitForValue("sum(xenlet_domains)", domains_) << "\n"
      << prometheus_->Log();
  EXPECT_TRUE(WaitForValue(R"(up{job="xenlet"})", 1).ok());
  EXPECT_TRUE(
      WaitForValue(R"(xenlet_domains{job="xenlet", state="running"})", domains_)
          .ok());
  EXPECT_TRUE(
      WaitForValue(R"(xenlet_xenstore_connection_state{state="connected"})", 1)
          .ok());

  auto build = Query("xenlet_build_info");
  ASSERT_TRUE(build.ok()) << build.status();
  ASSERT_EQ(build->size(), 1u);
  EXPECT_EQ((*build)[0].value, 1);
  EXPECT_TRUE(std::regex_match((*build)[0].labels["version"],
                               std::regex("[0-9]+\\.[0-9]+\\.[0-9]+.*")))
      << (*build)[0].labels["version"];
  EXPECT_EQ((*build)[0].labels["job"], "xenlet");

  auto grpc = Query(
      R"(sum by (code) (xenlet_grpc_requests_total{method="/xenlet.v1.DomainService/ListDomains"}))");
  ASSERT_TRUE(grpc.ok()) << grpc.status();
  ASSERT_EQ(grpc->size(), 1u);
  EXPECT_EQ((*grpc)[0].labels["code"], "OK");
  EXPECT_EQ((*grpc)[0].value, 3);

  auto sweeps = Query("xenlet_sweeps_total");
  ASSERT_TRUE(sweeps.ok()) << sweeps.status();
  ASSERT_EQ(sweeps->size(), 1u);
  EXPECT_GT((*sweeps)[0].value, 0);

  // Domains booted now reach Prometheus with the next scrapes.
  CreateDomains(2, "late");
  EXPECT_TRUE(WaitForValue("sum(xenlet_domains)", domains_).ok())
      << WaitForValue("sum(xenlet_domains)", domains_);

  // The scrape itself: healthy, no error.
  auto targets = Api("/api/v1/targets?state=active");
  ASSERT_TRUE(targets.ok()) << targets.status();
  const auto& active =
      Field(targets->struct_value(), "activeTargets").list_value();
  ASSERT_EQ(active.values_size(), 1);
  EXPECT_EQ(Field(active.values(0).struct_value(), "health").string_value(),
            "up");
  EXPECT_EQ(Field(active.values(0).struct_value(), "lastError").string_value(),
            "");
}

// deploy/prometheus/xenlet.rules.yml, evaluated on live data: the recording
// rules produce their series, and no rule fails to evaluate.
TEST_F(PrometheusScrapeTest, DeployRulesEvaluateOnLiveData) {
  EXPECT_TRUE(WaitForValue("instance:xenlet_domains:sum", domains_).ok())
      << WaitForValue("instance:xenlet_domains:sum", domains_);
  EXPECT_TRUE(
      WaitForValue(R"(job_state:xenlet_domains:sum{state="running"})", domains_)
          .ok());
  absl::Status healthy = PollUntil(
      [&]() -> absl::Status {
        auto rules = Api("/api/v1/rules");
        if (!rules.ok()) return rules.status();
        int count = 0;
        for (const Value& group :
             Field(rules->struct_value(), "groups").list_value().values()) {
          for (const Value& rule :
               Field(group.struct_value(), "rules").list_value().values()) {
            ++count;
            const Struct& r = rule.struct_value();
            const std::string health = Field(r, "health").string_value();
            const std::string name = Field(r, "name").string_value();
            if (health == "err") {
              return absl::AbortedError(absl::StrCat(
                  "rule ", name,
                  " fails: ", Field(r, "lastError").string_value()));
            }
            if (health != "ok") {
              return absl::UnavailableError(
                  absl::StrCat("rule ", name, " not evaluated yet"));
            }
            // Nothing is wrong on this host: no alert may fire (XenletDown
            // and the rest are for real trouble).
            if (Field(r, "type").string_value() == "alerting" &&
                Field(r, "state").string_value() != "inactive") {
              return absl::AbortedError(absl::StrCat(
                  "alert ", name, " is ", Field(r, "state").string_value()));
            }
          }
        }
        if (count < 10) {
          return absl::AbortedError(absl::StrCat("only ", count, " rules"));
        }
        return absl::OkStatus();
      },
      kWait, absl::Milliseconds(250));
  EXPECT_TRUE(healthy.ok()) << healthy << "\n" << prometheus_->Log();
}

// Every query of deploy/grafana/xenlet-dashboard.json, with Grafana's
// variables filled in, is valid PromQL that Prometheus evaluates; and
// returns data, apart from the series that only exist once something
// failed (errors, resyncs).
TEST_F(PrometheusScrapeTest, DashboardQueriesReturnData) {
  auto path = Runfile("xenlet/deploy/grafana/xenlet-dashboard.json");
  ASSERT_TRUE(path.ok()) << path.status();
  auto dashboard = ParseJson(ReadFile(*path));
  ASSERT_TRUE(dashboard.ok()) << dashboard.status();
  std::vector<std::string> exprs;
  for (const Value& panel : Field(*dashboard, "panels").list_value().values()) {
    for (const Value& target :
         Field(panel.struct_value(), "targets").list_value().values()) {
      exprs.push_back(Field(target.struct_value(), "expr").string_value());
    }
  }
  ASSERT_GT(exprs.size(), 15u);
  // rate() needs two scrapes in its range.
  ASSERT_TRUE(WaitForValue("count_over_time(up[1m]) >= bool 3", 1).ok());
  for (const std::string& expr : exprs) {
    const std::string query = absl::StrReplaceAll(
        expr,
        {{"$__rate_interval", "1m"}, {"$__range", "1m"}, {"$host", ".*"}});
    const bool may_be_empty =
        query.find("xenlet_hypercall_errors_total") != std::string::npos ||
        query.find("xenlet_xenstore_request_errors_total") !=
            std::string::npos ||
        query.find("xenlet_watch_resyncs_total") != std::string::npos;
    absl::Status status = PollUntil(
        [&]() -> absl::Status {
          auto result = Query(query);
          if (!result.ok())
            return absl::AbortedError(result.status().message());
          if (result->empty() && !may_be_empty) {
            return absl::UnavailableError("no data");
          }
          return absl::OkStatus();
        },
        absl::Seconds(10), absl::Milliseconds(250));
    EXPECT_TRUE(status.ok()) << query << ": " << status;
  }
}

}  // namespace
}  // namespace xenlet::metrics_test

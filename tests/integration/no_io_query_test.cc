// Queries and streams are served from the model alone (docs/architecture.md,
// domain_service.proto): ListDomains, GetDomains and WatchDomains (and
// GetHost, from the model's cached host facts) make no xenstore request and
// no hypercall. Checked from outside the agent, on a
// private simulated host: xenstored's own trace (-T) of every request it
// handled, and the fake hypervisor's counters of every hypercall made by
// anyone on the host.
//
// The model runs with a sweep interval of an hour, so that no timer sweep
// falls in the measured window, on a host whose domains were all created
// before it started. The window is delimited in xenstored's trace by two
// READs of marker paths from a connection of the test's own; every request
// between them, and every request after the first from another connection
// up to when the trace is read, is a failure.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/server.h"
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "store/domain_model.h"
#include "tests/testing/status_macros.h"
#include "tests/testing/temp_dir.h"
#include "xen/call_observer.h"
#include "xen/xenstore.h"
#include "xenlet/v1/domain_service.grpc.pb.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet {
namespace {

// One request line of xenstored's trace:
// "IN 0x55d0c5f0a8b0 20261125 17:00:00 READ (/local/domain/1/name )".
struct TracedRequest {
  std::string connection;
  std::string op;
  std::string line;
};

std::vector<TracedRequest> ReadTrace(const std::string& path) {
  std::vector<TracedRequest> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 5 && f[0] == "IN") out.push_back({f[1], f[4], line});
  }
  return out;
}

// Index of the READ of `path` in the trace, or -1.
int FindMarker(const std::vector<TracedRequest>& trace,
               const std::string& path) {
  for (size_t i = 0; i < trace.size(); ++i) {
    if (trace[i].op == "READ" &&
        trace[i].line.find(absl::StrCat("(", path, " ")) != std::string::npos) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

struct SimDomainSpec {
  std::string name;
  bool start = true;
  bool pause = false;
  bool crash = false;
};

class NoIoQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim::SimHostOptions options;
    options.trace = true;
    auto host = sim::SimHost::Start(options);
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    auto toolstack = host_->NewToolstack();
    ASSERT_TRUE(toolstack.ok()) << toolstack.status();
    toolstack_ = std::move(*toolstack);

    // Domains in every state, all before the agent starts.
    const SimDomainSpec specs[] = {
        {"web-1"},          {"web-2"},
        {"db-1"},           {"paused-1", true, true},
        {"built-1", false}, {"crashed-1", true, false, true},
    };
    for (const SimDomainSpec& spec : specs) {
      sim::DomainSpec d;
      d.name = spec.name;
      d.start = spec.start;
      auto created = toolstack_->CreateDomain(d);
      ASSERT_TRUE(created.ok()) << created.status();
      if (spec.pause) ASSERT_OK(toolstack_->PauseDomain(created->domid));
      if (spec.crash) {
        ASSERT_OK(toolstack_->ShutdownDomain(created->domid,
                                             xen::ShutdownReason::kCrash));
      }
      names_.push_back(spec.name);
      domids_.push_back(created->domid);
      uuids_.push_back(created->uuid);
    }

    auto hypervisor = host_->OpenHypervisor();
    ASSERT_TRUE(hypervisor.ok()) << hypervisor.status();
    hypervisor_ = std::move(*hypervisor);
    store::ModelOptions model_options;
    // No timer sweep during the test.
    model_options.sweep_interval = absl::Hours(1);
    sim::SimHost* host_ptr = host_.get();
    model_ = std::make_unique<store::DomainModel>(
        hypervisor_.get(), [host_ptr] { return host_ptr->ConnectXenstore(); },
        model_options);
    ASSERT_OK(model_->Start());
    agent::ServerOptions server_options;
    server_options.listeners.unix_socket = dir_.File("xenlet.sock");
    agent::Backends backends;
    backends.store = &model_->store();
    backends.model = model_.get();  // GetHost's cached host facts
    auto server = agent::AgentServer::Start(server_options, backends);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = grpc::CreateChannel("unix:" + server_->unix_socket(),
                                       grpc::InsecureChannelCredentials());
    stub_ = v1::DomainService::NewStub(channel);
    host_stub_ = v1::HostService::NewStub(channel);

    auto marker = host_->ConnectXenstore();
    ASSERT_TRUE(marker.ok()) << marker.status();
    marker_ = std::move(*marker);
  }

  void TearDown() override {
    stub_.reset();
    host_stub_.reset();
    if (server_) server_->Shutdown(absl::Seconds(1));
    server_.reset();
    if (model_) model_->Stop();
    model_.reset();
    hypervisor_.reset();
    marker_.reset();
    toolstack_.reset();
    host_.reset();
  }

  // The model has every domain with its name, the watcher has handled the
  // events its watches delivered on registration (@introduceDomain's asks
  // for a sweep) and that sweep has run. Bounded polling.
  bool Settled() {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      auto snapshot = model_->store().snapshot();
      bool named = snapshot->domains.size() == names_.size() + 1;
      for (size_t i = 0; named && i < names_.size(); ++i) {
        auto d = snapshot->domains.Get(domids_[i]);
        named = d && d->name() == names_[i];
      }
      if (named && model_->watcher().stats().watch_events >= 3 &&
          model_->sweeper().stats().sweeps >= 2) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  // A request of the test's own in xenstored's trace.
  void Marker(const std::string& path) {
    auto value = marker_->Read(path);
    ASSERT_EQ(value.status().code(), absl::StatusCode::kNotFound)
        << value.status();
  }

  void List(const v1::ListDomainsRequest& request,
            v1::ListDomainsResponse* response) {
    grpc::ClientContext context;
    grpc::Status status = stub_->ListDomains(&context, request, response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Lists, lookups and streams of every kind; returns the number of calls.
  int RunQueries() {
    int calls = 0;
    for (int round = 0; round < 40; ++round) {
      // Paged listings: every page after the first from the retained
      // snapshot.
      v1::ListDomainsRequest request;
      request.set_page_size(1 + round % 4);
      if (round % 3 == 1) request.mutable_filter()->set_name_prefix("web-");
      if (round % 3 == 2) {
        request.mutable_filter()->add_states(v1::DOMAIN_STATE_RUNNING);
      }
      if (round % 2 == 1) request.mutable_read_mask()->add_paths("name");
      size_t listed = 0;
      while (true) {
        v1::ListDomainsResponse response;
        List(request, &response);
        ++calls;
        listed += response.domains_size();
        if (response.next_page_token().empty()) break;
        request.set_page_token(response.next_page_token());
      }
      EXPECT_GT(listed, 0u);

      v1::GetDomainsRequest get;
      for (size_t i = 0; i < names_.size(); ++i) {
        get.add_selectors()->set_domid(domids_[i]);
        get.add_selectors()->set_uuid(uuids_[i]);
        get.add_selectors()->set_name(names_[i]);
      }
      get.add_selectors()->set_domid(30000);  // not found
      get.add_selectors()->set_name("nobody");
      grpc::ClientContext context;
      v1::GetDomainsResponse got;
      grpc::Status status = stub_->GetDomains(&context, get, &got);
      ++calls;
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(got.results_size(), get.selectors_size());

      // The host's facts are cached by the model, not asked for per call.
      grpc::ClientContext host_context;
      v1::Host host;
      status = host_stub_->GetHost(&host_context, v1::GetHostRequest(), &host);
      ++calls;
      EXPECT_TRUE(status.ok()) << status.error_message();
    }

    for (int round = 0; round < 10; ++round) {
      // The initial state, SYNCED, then a resume from that point.
      v1::WatchDomainsRequest request;
      request.set_initial_state(true);
      if (round % 2 == 1) request.mutable_filter()->set_name_prefix("web-");
      v1::ResumePoint point;
      {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(20));
        auto reader = stub_->WatchDomains(&context, request);
        v1::WatchDomainsResponse message;
        int added = 0;
        while (reader->Read(&message) &&
               message.type() == v1::EVENT_TYPE_ADDED) {
          ++added;
        }
        EXPECT_EQ(message.type(), v1::EVENT_TYPE_SYNCED);
        EXPECT_EQ(added, round % 2 == 1 ? 2 : 7);
        point.set_instance_id(message.instance_id());
        point.set_revision(message.revision());
        context.TryCancel();
        reader->Finish().IgnoreError();
        ++calls;
      }
      {
        v1::WatchDomainsRequest resume;
        *resume.mutable_resume() = point;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(20));
        auto reader = stub_->WatchDomains(&context, resume);
        v1::WatchDomainsResponse message;
        EXPECT_TRUE(reader->Read(&message));
        EXPECT_EQ(message.type(), v1::EVENT_TYPE_SYNCED);
        context.TryCancel();
        reader->Finish().IgnoreError();
        ++calls;
      }
    }

    {
      // An idle stream: a BOOKMARK, and the opt-in STATS of every domain
      // (volatile fields, served from the model too).
      v1::WatchDomainsRequest request;
      request.mutable_bookmark_interval()->set_seconds(1);
      request.mutable_stats_interval()->set_seconds(1);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(20));
      auto reader = stub_->WatchDomains(&context, request);
      v1::WatchDomainsResponse message;
      int stats = 0, bookmarks = 0;
      while ((stats < 7 || bookmarks < 1) && reader->Read(&message)) {
        if (message.type() == v1::EVENT_TYPE_STATS) ++stats;
        if (message.type() == v1::EVENT_TYPE_BOOKMARK) ++bookmarks;
      }
      EXPECT_GE(stats, 7);
      EXPECT_GE(bookmarks, 1);
      context.TryCancel();
      reader->Finish().IgnoreError();
      ++calls;
    }

    // Every stream is over on the server's side too.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (server_->open_streams() > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    EXPECT_EQ(server_->open_streams(), 0u);
    return calls;
  }

  testing::TempDir dir_;
  std::unique_ptr<sim::SimHost> host_;
  std::unique_ptr<sim::Toolstack> toolstack_;
  std::unique_ptr<xen::Hypervisor> hypervisor_;
  std::unique_ptr<store::DomainModel> model_;
  std::unique_ptr<agent::AgentServer> server_;
  std::unique_ptr<v1::DomainService::Stub> stub_;
  std::unique_ptr<v1::HostService::Stub> host_stub_;
  std::unique_ptr<xen::XenstoreClient> marker_;
  std::vector<std::string> names_;
  std::vector<uint32_t> domids_;
  std::vector<std::string> uuids_;
};

TEST_F(NoIoQueryTest, QueriesAndStreamsMakeNoXenstoreRequestAndNoHypercall) {
  ASSERT_TRUE(Settled()) << "the model never held every domain by name";

  // A sweep asked for at start-up (by the watches' registration events) may
  // in principle still be pending when the window opens; the sweeper's own
  // count shows it, and the window is then measured again. Queries never
  // ask for a sweep, so a window of queries passes at the latest on its
  // second attempt.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    SCOPED_TRACE(absl::StrCat("attempt ", attempt));
    const std::string open = absl::StrCat("/xenlet-test/window-", attempt);
    const std::string close = open + "-end";
    const uint64_t sweeps = model_->sweeper().stats().sweeps;
    const store::XenstoreWatcherStats watcher = model_->watcher().stats();
    ASSERT_NO_FATAL_FAILURE(Marker(open));
    const sim::HypercallCounts before = host_->state().Counts();
    auto reads_before = host_->CountTracedRequests("READ");
    ASSERT_TRUE(reads_before.ok()) << reads_before.status();
    std::map<std::string, int64_t> others_before;
    for (const char* op :
         {"DIRECTORY", "TRANSACTION_START", "TRANSACTION_END", "GET_PERMS",
          "WATCH", "UNWATCH", "WRITE", "MKDIR", "RM", "IS_DOMAIN_INTRODUCED"}) {
      auto count = host_->CountTracedRequests(op);
      ASSERT_TRUE(count.ok()) << count.status();
      others_before[op] = *count;
    }

    const int calls = RunQueries();

    const sim::HypercallCounts after = host_->state().Counts();
    ASSERT_NO_FATAL_FAILURE(Marker(close));
    if (model_->sweeper().stats().sweeps != sweeps && attempt < 3) {
      std::printf(
          "attempt %d: a sweep left over from start-up ran in the "
          "window; measuring again\n",
          attempt);
      continue;
    }
    EXPECT_EQ(model_->sweeper().stats().sweeps, sweeps);

    // Hypercalls: none of any kind, by anyone.
    for (size_t k = 0; k < before.by_kind.size(); ++k) {
      EXPECT_EQ(after.by_kind[k], before.by_kind[k])
          << xen::HypercallKindName(static_cast<xen::HypercallKind>(k))
          << " hypercalls during " << calls << " calls";
    }
    EXPECT_EQ(after.other, before.other);

    // Xenstore: nothing between the markers, and nothing after the first
    // from any other connection (a request sent in the window but handled
    // late would land after the closing marker).
    const std::vector<TracedRequest> trace = ReadTrace(host_->trace_path());
    const int from = FindMarker(trace, open);
    const int to = FindMarker(trace, close);
    ASSERT_GE(from, 0) << "no " << open << " in the trace";
    ASSERT_GT(to, from) << "no " << close << " in the trace";
    const std::string self = trace[from].connection;
    std::vector<std::string> stray;
    for (size_t i = from + 1; i < trace.size(); ++i) {
      if (static_cast<int>(i) == to) continue;
      if (static_cast<int>(i) < to || trace[i].connection != self) {
        stray.push_back(trace[i].line);
      }
    }
    EXPECT_TRUE(stray.empty())
        << stray.size() << " xenstore requests during " << calls
        << " calls:\n  " << absl::StrJoin(stray, "\n  ");
    // The same through SimHost's count: the closing marker is the one READ.
    auto reads_after = host_->CountTracedRequests("READ");
    ASSERT_TRUE(reads_after.ok()) << reads_after.status();
    EXPECT_EQ(*reads_after, *reads_before + 1);
    for (const auto& [op, count] : others_before) {
      // The markers make none of these.
      auto now = host_->CountTracedRequests(op);
      ASSERT_TRUE(now.ok()) << now.status();
      EXPECT_EQ(*now, count) << op << " requests during " << calls << " calls";
    }
    // The agent's own counters agree.
    EXPECT_EQ(model_->watcher().stats().key_reads, watcher.key_reads);
    EXPECT_EQ(model_->watcher().stats().watch_events, watcher.watch_events);
    if (!HasFailure()) {
      std::printf("%d calls: no hypercall, no xenstore request\n", calls);
    }
    return;
  }
}

}  // namespace
}  // namespace xenlet

// Drives xenletctl's commands in-process against a gRPC server on a unix
// socket. The server is a TEST DOUBLE: the real agent's DomainService is not
// built yet, so this plays scripted answers and records what the client sent.
#include "tools/xenletctl/commands.h"

#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "tools/xenletctl/screen.h"
#include "xenlet/v1/domain_service.grpc.pb.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::Domain;
using xenlet::v1::ListDomainsRequest;
using xenlet::v1::WatchDomainsRequest;
using xenlet::v1::WatchDomainsResponse;

Domain MakeDomain(uint32_t domid, const std::string& name) {
  Domain d;
  d.set_domid(domid);
  d.set_name(name);
  d.set_state(xenlet::v1::DOMAIN_STATE_RUNNING);
  return d;
}

WatchDomainsResponse Event(xenlet::v1::EventType type, uint64_t revision,
                           const std::string& instance) {
  WatchDomainsResponse e;
  e.set_type(type);
  e.set_revision(revision);
  e.set_instance_id(instance);
  return e;
}

WatchDomainsResponse DomainEvent(xenlet::v1::EventType type,
                                 xenlet::v1::Transition transition,
                                 uint64_t revision, const std::string& instance,
                                 const Domain& domain) {
  WatchDomainsResponse e = Event(type, revision, instance);
  e.set_transition(transition);
  *e.mutable_domain() = domain;
  return e;
}

// Test double of xenlet.v1.DomainService (see the file comment).
class FakeDomainService final : public xenlet::v1::DomainService::Service {
 public:
  // One scripted WatchDomains call: these events, then this status.
  struct Stream {
    std::vector<WatchDomainsResponse> events;
    grpc::Status end = grpc::Status::OK;
    // Stop the client after the events (stands in for SIGINT).
    StopToken* stop = nullptr;
    // Then keep the stream open until the client cancels it, so the stop
    // has to cancel a blocked read.
    bool hold_open = false;
    // Before the end: for each cue in turn, wait for it, then send its
    // events (the client has acted on what came before: drawn a table).
    std::vector<
        std::pair<absl::Notification*, std::vector<WatchDomainsResponse>>>
        cued;
  };

  std::vector<Domain> domains;
  std::vector<Stream> streams;

  grpc::Status ListDomains(grpc::ServerContext*,
                           const ListDomainsRequest* request,
                           xenlet::v1::ListDomainsResponse* response) override {
    absl::MutexLock lock(&mu_);
    list_requests_.push_back(*request);
    // Tokens are "p<index of the next domain>".
    size_t start = 0;
    if (!request->page_token().empty()) {
      start = std::stoul(request->page_token().substr(1));
    }
    size_t size = request->page_size() > 0 ? request->page_size() : 1000;
    size_t end = std::min(domains.size(), start + size);
    for (size_t i = start; i < end; ++i) *response->add_domains() = domains[i];
    if (end < domains.size()) {
      response->set_next_page_token("p" + std::to_string(end));
    }
    response->mutable_snapshot()->set_instance_id("inst-A");
    response->mutable_snapshot()->set_revision(10);
    response->set_total_size(domains.size());
    return grpc::Status::OK;
  }

  grpc::Status GetDomains(grpc::ServerContext*,
                          const xenlet::v1::GetDomainsRequest* request,
                          xenlet::v1::GetDomainsResponse* response) override {
    for (const auto& selector : request->selectors()) {
      auto* result = response->add_results();
      *result->mutable_selector() = selector;
      const Domain* found = nullptr;
      for (const Domain& d : domains) {
        if ((selector.has_domid() && d.domid() == selector.domid()) ||
            (selector.has_name() && d.name() == selector.name())) {
          found = &d;
        }
      }
      if (found != nullptr) {
        *result->mutable_domain() = *found;
      } else {
        result->mutable_status()->set_code(grpc::StatusCode::NOT_FOUND);
        result->mutable_status()->set_message("no such domain");
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status WatchDomains(
      grpc::ServerContext* context, const WatchDomainsRequest* request,
      grpc::ServerWriter<WatchDomainsResponse>* writer) override {
    Stream stream;
    {
      absl::MutexLock lock(&mu_);
      size_t call = watch_requests_.size();
      watch_requests_.push_back(*request);
      if (call >= streams.size()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "script ended");
      }
      stream = streams[call];
    }
    for (const auto& event : stream.events) {
      if (!writer->Write(event)) return grpc::Status::CANCELLED;
    }
    for (const auto& [cue, events] : stream.cued) {
      // Polled for the same reason as hold_open below.
      while (!cue->WaitForNotificationWithTimeout(absl::Milliseconds(1))) {
        if (context->IsCancelled()) return grpc::Status::CANCELLED;
      }
      for (const auto& event : events) {
        if (!writer->Write(event)) return grpc::Status::CANCELLED;
      }
    }
    if (stream.stop != nullptr) stream.stop->Stop();
    // The sync API has no cancellation callback: poll. Ends when the client
    // cancels (or the server shuts down).
    while (stream.hold_open && !context->IsCancelled()) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    return stream.end;
  }

  std::vector<ListDomainsRequest> list_requests() {
    absl::MutexLock lock(&mu_);
    return list_requests_;
  }
  std::vector<WatchDomainsRequest> watch_requests() {
    absl::MutexLock lock(&mu_);
    return watch_requests_;
  }

 private:
  absl::Mutex mu_;
  std::vector<ListDomainsRequest> list_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<WatchDomainsRequest> watch_requests_ ABSL_GUARDED_BY(mu_);
};

// Test double of xenlet.v1.HostService.
class FakeHostService final : public xenlet::v1::HostService::Service {
  grpc::Status GetHost(grpc::ServerContext*, const xenlet::v1::GetHostRequest*,
                       xenlet::v1::Host* host) override {
    host->mutable_xen_version()->set_major(4);
    host->mutable_xen_version()->set_minor(17);
    host->mutable_xen_version()->set_extra(".7");
    host->mutable_xen_version()->set_capabilities(
        "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
    host->mutable_sweep()->set_stale(true);
    host->mutable_sweep()->set_consecutive_failures(3);
    host->mutable_sweep()->set_last_error(
        "xc_domain_getinfolist: Operation not permitted (errno 1)");
    host->mutable_physinfo()->set_nr_cpus(2);
    host->mutable_physinfo()->set_total_memory_bytes(24ull << 30);
    host->mutable_agent()->set_instance_id("inst-A");
    host->mutable_agent()->set_revision(42);
    auto* running = host->add_domains_by_state();
    running->set_state(xenlet::v1::DOMAIN_STATE_RUNNING);
    running->set_count(3);
    host->set_domains_total(3);
    return grpc::Status::OK;
  }
};

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Bazel's TEST_TMPDIR is too long for sun_path (108 bytes).
    char dir[] = "/tmp/xlctl.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_ = dir_ + "/s";
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(1));
    }
    unlink(socket_.c_str());
    rmdir(dir_.c_str());
  }

  void Start(bool with_host = true) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_,
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&domains_);
    if (with_host) builder.RegisterService(&host_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  GlobalOptions Global(bool json = false) {
    GlobalOptions global;
    global.connection.socket = socket_;
    global.json = json;
    global.time_zone = absl::UTCTimeZone();
    global.clock = [] { return absl::FromUnixSeconds(1764090000); };
    return global;
  }

  static RetryPolicy FastRetry() {
    RetryPolicy retry;
    // Backoff of 1 ms keeps reconnects quick; max_reconnects bounds a
    // failing test instead of hanging it.
    retry.backoff_initial_seconds = 0.001;
    retry.backoff_max_seconds = 0.001;
    retry.max_reconnects = 3;
    return retry;
  }

  WatchOptions FastWatch() {
    WatchOptions options;
    options.retry = FastRetry();
    return options;
  }

  std::string dir_;
  std::string socket_;
  FakeDomainService domains_;
  FakeHostService host_;
  std::unique_ptr<grpc::Server> server_;
  std::ostringstream out_;
  std::ostringstream err_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(CommandsTest, WatchResumesAfterDroppedStreamAndReportsResync) {
  const Domain a = MakeDomain(1, "a");
  const Domain b = MakeDomain(2, "b");
  using namespace xenlet::v1;
  // First stream: initial state, one live change, a bookmark; then the
  // server drops it.
  domains_.streams.push_back(
      {{DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10, "inst-A", a),
        DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10, "inst-A", b),
        Event(EVENT_TYPE_SYNCED, 10, "inst-A"),
        DomainEvent(EVENT_TYPE_MODIFIED, TRANSITION_PAUSED, 11, "inst-A", a),
        Event(EVENT_TYPE_BOOKMARK, 12, "inst-A")},
       grpc::Status(grpc::StatusCode::UNAVAILABLE, "agent restarting")});
  // Second stream: the agent restarted, so the resume cannot be honoured;
  // the current state follows inline.
  WatchDomainsResponse resync = Event(EVENT_TYPE_RESYNC_REQUIRED, 3, "inst-B");
  resync.set_resync_reason(RESYNC_REASON_INSTANCE_CHANGED);
  domains_.streams.push_back(
      {{resync,
        DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 3, "inst-B", a),
        Event(EVENT_TYPE_SYNCED, 3, "inst-B"),
        DomainEvent(EVENT_TYPE_MODIFIED, TRANSITION_UNPAUSED, 4, "inst-B", a)},
       grpc::Status::OK});
  Start();

  WatchOptions options = FastWatch();
  options.count = 5;  // 3 domain events + 2 in the second stream
  EXPECT_EQ(RunWatch(Global(), options, out_, err_), kExitOk) << err_.str();

  auto requests = domains_.watch_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].initial_state());
  EXPECT_FALSE(requests[0].has_resume());
  EXPECT_EQ(requests[1].resume().instance_id(), "inst-A");
  EXPECT_EQ(requests[1].resume().revision(), 12u);  // the bookmark's
  EXPECT_TRUE(requests[1].resync_inline());

  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 9u) << out_.str();
  EXPECT_EQ(lines[0], "17:00:00 ADDED existing domid=1 name=a state=running");
  EXPECT_EQ(lines[3], "17:00:00 MODIFIED paused domid=1 name=a state=running");
  EXPECT_EQ(lines[5],
            "17:00:00 RESYNC_REQUIRED reason=instance_changed instance=inst-B");
  EXPECT_EQ(lines[8], "17:00:00 MODIFIED unpaused domid=1 name=a");

  const std::string err = err_.str();
  EXPECT_NE(err.find("UNAVAILABLE: agent restarting; reconnecting"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("resume from inst-A revision 12"), std::string::npos)
      << err;
  EXPECT_NE(err.find("RESYNC_REQUIRED (instance_changed)"), std::string::npos)
      << err;
}

TEST_F(CommandsTest, WatchDoesNotResumeFromAnUnfinishedSnapshot) {
  const Domain a = MakeDomain(1, "a");
  const Domain b = MakeDomain(2, "b");
  using namespace xenlet::v1;
  // Dropped in the middle of the initial state: revision 10 is the
  // snapshot's, and resuming from it would skip domain 2.
  domains_.streams.push_back(
      {{DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10, "inst-A", a)},
       grpc::Status(grpc::StatusCode::UNAVAILABLE, "dropped")});
  domains_.streams.push_back(
      {{DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10, "inst-A", a),
        DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10, "inst-A", b),
        Event(EVENT_TYPE_SYNCED, 10, "inst-A"),
        DomainEvent(EVENT_TYPE_DELETED, TRANSITION_DESTROYED, 11, "inst-A", b)},
       grpc::Status(grpc::StatusCode::INTERNAL, "dropped again")});
  domains_.streams.push_back(
      {{Event(EVENT_TYPE_SYNCED, 11, "inst-A"),
        DomainEvent(EVENT_TYPE_MODIFIED, TRANSITION_PAUSED, 12, "inst-A", a)},
       grpc::Status::OK});
  Start();

  WatchOptions options = FastWatch();
  options.count = 5;
  EXPECT_EQ(RunWatch(Global(), options, out_, err_), kExitOk) << err_.str();

  auto requests = domains_.watch_requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_FALSE(requests[1].has_resume());
  EXPECT_TRUE(requests[1].initial_state());
  EXPECT_EQ(requests[2].resume().instance_id(), "inst-A");
  EXPECT_EQ(requests[2].resume().revision(), 11u);
}

TEST_F(CommandsTest, WatchStartsOverWhenAResyncIsCutShort) {
  using namespace xenlet::v1;
  const Domain a = MakeDomain(1, "a");
  domains_.streams.push_back({{Event(EVENT_TYPE_SYNCED, 10, "inst-A")},
                              grpc::Status(grpc::StatusCode::UNAVAILABLE, "")});
  // RESYNC_REQUIRED, then the stream ends before the inline state's SYNCED
  // (or the agent ignored resync_inline).
  WatchDomainsResponse resync = Event(EVENT_TYPE_RESYNC_REQUIRED, 3, "inst-B");
  resync.set_resync_reason(RESYNC_REASON_INSTANCE_CHANGED);
  domains_.streams.push_back({{resync}, grpc::Status::OK});
  domains_.streams.push_back(
      {{DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 3, "inst-B", a)}});
  Start();

  WatchOptions options = FastWatch();
  options.initial_state = false;
  options.count = 1;
  EXPECT_EQ(RunWatch(Global(), options, out_, err_), kExitOk) << err_.str();
  auto requests = domains_.watch_requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].resume().revision(), 10u);
  // The refused point is dropped: the current state instead.
  EXPECT_FALSE(requests[2].has_resume());
  EXPECT_TRUE(requests[2].initial_state());
}

TEST_F(CommandsTest, WatchResumeFlagStartsFromThatPoint) {
  using namespace xenlet::v1;
  domains_.streams.push_back({{Event(EVENT_TYPE_SYNCED, 8, "inst-A")}});
  Start();
  WatchOptions options = FastWatch();
  options.resume = "inst-A:7";
  options.until_synced = true;
  EXPECT_EQ(RunWatch(Global(), options, out_, err_), kExitOk) << err_.str();
  auto requests = domains_.watch_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].resume().instance_id(), "inst-A");
  EXPECT_EQ(requests[0].resume().revision(), 7u);
  EXPECT_TRUE(requests[0].resync_inline());
}

TEST_F(CommandsTest, WatchSendsFlagsAndStopsAtSynced) {
  using namespace xenlet::v1;
  domains_.streams.push_back({{Event(EVENT_TYPE_SYNCED, 5, "inst-A"),
                               Event(EVENT_TYPE_BOOKMARK, 6, "inst-A")},
                              grpc::Status::OK});
  Start();

  WatchOptions options = FastWatch();
  options.until_synced = true;
  options.initial_state = false;
  options.filter.name_prefix = "web-";
  options.filter.states = {"running"};
  options.event_types = {"added", "deleted"};
  options.bookmark_interval_seconds = 5;
  options.stats_interval_seconds = 60;
  options.fields = {"domid,name"};
  EXPECT_EQ(RunWatch(Global(/*json=*/true), options, out_, err_), kExitOk)
      << err_.str();

  auto requests = domains_.watch_requests();
  ASSERT_EQ(requests.size(), 1u);
  const WatchDomainsRequest& r = requests[0];
  EXPECT_FALSE(r.initial_state());
  EXPECT_EQ(r.filter().name_prefix(), "web-");
  ASSERT_EQ(r.filter().states_size(), 1);
  ASSERT_EQ(r.event_types_size(), 2);
  EXPECT_EQ(r.event_types(1), EVENT_TYPE_DELETED);
  EXPECT_EQ(r.bookmark_interval().seconds(), 5);
  EXPECT_EQ(r.stats_interval().seconds(), 60);
  EXPECT_EQ(r.read_mask().paths_size(), 2);

  // Only the SYNCED line: the watch ended there.
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 1u);
  WatchDomainsResponse parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(lines[0], &parsed).ok());
  EXPECT_EQ(parsed.type(), EVENT_TYPE_SYNCED);
  EXPECT_EQ(parsed.revision(), 5u);
}

TEST_F(CommandsTest, WatchStopTokenEndsWithoutReconnecting) {
  using namespace xenlet::v1;
  StopToken stop;
  domains_.streams.push_back({{Event(EVENT_TYPE_SYNCED, 5, "inst-A")},
                              grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"),
                              &stop});
  Start();
  WatchOptions options = FastWatch();
  options.stop = &stop;
  EXPECT_EQ(RunWatch(Global(), options, out_, err_), kExitOk) << err_.str();
  EXPECT_EQ(domains_.watch_requests().size(), 1u);
}

// An output stream that calls Stop() on its first complete line: the client
// has then read an event and its next read would block.
class StopOnLine : public std::stringbuf {
 public:
  explicit StopOnLine(StopToken& stop) : stop_(stop) {}

 protected:
  int sync() override {
    if (str().find('\n') != std::string::npos) stop_.Stop();
    return 0;
  }

 private:
  StopToken& stop_;
};

TEST_F(CommandsTest, WatchStopCancelsABlockedStream) {
  using namespace xenlet::v1;
  StopToken stop;
  FakeDomainService::Stream stream;
  stream.events = {Event(EVENT_TYPE_SYNCED, 5, "inst-A")};
  stream.hold_open = true;  // without the cancel, the next read never ends
  domains_.streams.push_back(stream);
  Start();
  WatchOptions options = FastWatch();
  options.stop = &stop;
  StopOnLine buffer(stop);
  std::ostream out(&buffer);  // RunWatch flushes after every line
  EXPECT_EQ(RunWatch(Global(), options, out, err_), kExitOk) << err_.str();
  EXPECT_EQ(domains_.watch_requests().size(), 1u);
  EXPECT_EQ(buffer.str(), "17:00:00 SYNCED inst-A:5\n");
}

TEST_F(CommandsTest, WatchReportsNonRetryableErrors) {
  // What the agent answers for methods it does not implement yet.
  domains_.streams.push_back(
      {{}, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet")});
  Start();
  EXPECT_EQ(RunWatch(Global(), FastWatch(), out_, err_), kExitRpcError);
  EXPECT_EQ(err_.str(),
            "xenletctl: WatchDomains: UNIMPLEMENTED: not yet (this agent does "
            "not implement WatchDomains yet)\n");
}

TEST_F(CommandsTest, WatchRefusesBadFlagsBeforeConnecting) {
  WatchOptions options = FastWatch();
  options.stats_interval_seconds = 7200;
  EXPECT_EQ(RunWatch(Global(), options, out_, err_), kExitUsage);
  EXPECT_EQ(err_.str(),
            "xenletctl: --stats-interval: 7200 is not in 0..3600 seconds\n"
            "Run 'xenletctl watch --help' for usage and examples.\n");
}

TEST_F(CommandsTest, ListAllFollowsPageTokens) {
  for (uint32_t i = 0; i < 5; ++i) {
    domains_.domains.push_back(MakeDomain(i, "vm" + std::to_string(i)));
  }
  Start();
  ListOptions options;
  options.page_size = 2;
  options.all = true;
  options.filter.name_prefix = "vm";
  EXPECT_EQ(RunList(Global(), options, out_, err_), kExitOk) << err_.str();

  auto requests = domains_.list_requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].page_token(), "");
  EXPECT_EQ(requests[1].page_token(), "p2");
  EXPECT_EQ(requests[2].page_token(), "p4");
  for (const auto& r : requests) {
    EXPECT_EQ(r.page_size(), 2);
    EXPECT_EQ(r.filter().name_prefix(), "vm");
  }
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 6u) << out_.str();
  EXPECT_EQ(lines[0], "DOMID  NAME  STATE    REASON  VCPUS  MEM  CPUTIME");
  EXPECT_EQ(lines[5], "    4  vm4   running  -         0/0   0B     0.0s");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(CommandsTest, ListJsonIsOneDocumentPerPage) {
  for (uint32_t i = 0; i < 3; ++i)
    domains_.domains.push_back(MakeDomain(i, "x"));
  Start();
  ListOptions options;
  options.page_size = 2;
  options.all = true;
  EXPECT_EQ(RunList(Global(/*json=*/true), options, out_, err_), kExitOk);
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u);
  xenlet::v1::ListDomainsResponse page;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(lines[0], &page).ok());
  EXPECT_EQ(page.domains_size(), 2);
  EXPECT_EQ(page.next_page_token(), "p2");
  EXPECT_EQ(page.snapshot().instance_id(), "inst-A");
}

TEST_F(CommandsTest, ListWithoutAllStopsAtFirstPageAndSaysSo) {
  for (uint32_t i = 0; i < 3; ++i)
    domains_.domains.push_back(MakeDomain(i, "x"));
  Start();
  ListOptions options;
  options.page_size = 2;
  EXPECT_EQ(RunList(Global(), options, out_, err_), kExitOk);
  EXPECT_EQ(domains_.list_requests().size(), 1u);
  EXPECT_EQ(Lines(out_.str()).size(), 3u);
  EXPECT_EQ(
      err_.str(),
      "xenletctl: more domains (3 in total): --all, or --page-token p2\n");
}

TEST_F(CommandsTest, GetPrintsNotFoundPerSelector) {
  domains_.domains.push_back(MakeDomain(7, "web"));
  Start();
  GetOptions options;
  options.selectors = {"7", "name:nope"};
  EXPECT_EQ(RunGet(Global(), options, out_, err_), kExitNegative);
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u) << out_.str();
  EXPECT_EQ(lines[1].rfind("7          OK             7  web", 0), 0u)
      << lines[1];
  EXPECT_EQ(lines[2].rfind("name:nope  NOT_FOUND      -  -", 0), 0u)
      << lines[2];
  EXPECT_NE(lines[2].find("no such domain"), std::string::npos);
}

TEST_F(CommandsTest, HostKeyValues) {
  Start();
  EXPECT_EQ(RunHost(Global(), out_, err_), kExitOk) << err_.str();
  const std::string out = out_.str();
  EXPECT_NE(out.find("xen_version:"), std::string::npos) << out;
  EXPECT_NE(out.find(" 4.17.7\n"), std::string::npos) << out;
  EXPECT_NE(out.find("instance_id:"), std::string::npos);
  EXPECT_NE(out.find("memory_total:"), std::string::npos);
  EXPECT_NE(out.find(" 24GiB\n"), std::string::npos);
  EXPECT_NE(out.find("domains_running:"), std::string::npos);
  // Long values wrap at the value column within 80 columns.
  for (const std::string& line : Lines(out)) {
    EXPECT_LE(line.size(), 80u) << line;
  }
  EXPECT_NE(out.find("hvm-3.0-x86_32p\n                             "
                     "hvm-3.0-x86_64\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("model_stale:                 yes, since - (3 failed "),
            std::string::npos)
      << out;
}

TEST_F(CommandsTest, UnimplementedServiceIsReportedClearly) {
  Start(/*with_host=*/false);
  EXPECT_EQ(RunHost(Global(), out_, err_), kExitRpcError);
  EXPECT_EQ(err_.str().rfind("xenletctl: GetHost: UNIMPLEMENTED: ", 0), 0u)
      << err_.str();
  EXPECT_NE(err_.str().find("does not implement GetHost yet"),
            std::string::npos);
}

TEST_F(CommandsTest, Health) {
  Start();
  EXPECT_EQ(RunHealth(Global(), {}, out_, err_), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "SERVING\n");
  std::ostringstream out, err;
  // gRPC's default health service answers NOT_FOUND for unknown services.
  EXPECT_EQ(RunHealth(Global(), {"xenlet.v1.Nope"}, out, err), kExitRpcError);
  EXPECT_EQ(err.str().rfind("xenletctl: Check: NOT_FOUND", 0), 0u) << err.str();
}

TEST_F(CommandsTest, NoAgentIsAnRpcError) {
  // No socket at all: the agent is named, and what to do next.
  const std::string expected =
      "xenletctl: cannot reach xenlet at unix:" + socket_ +
      ": No such file or directory.\n"
      "Is the agent running (systemctl status xenlet)? Use --socket PATH or "
      "--address HOST:PORT to point elsewhere.\n";
  EXPECT_EQ(RunHost(Global(), out_, err_), kExitRpcError);
  EXPECT_EQ(err_.str(), expected);
  std::ostringstream out, err;
  EXPECT_EQ(RunWatch(Global(), FastWatch(), out, err), kExitRpcError);
  EXPECT_EQ(err.str(), expected);
  std::ostringstream out2, err2;
  ListOptions watch;
  watch.watch = true;
  EXPECT_EQ(RunList(Global(), watch, out2, err2), kExitRpcError);
  EXPECT_EQ(err2.str(), expected);
  EXPECT_EQ(out2.str(), "");
}

TEST_F(CommandsTest, CliWiresFlagsIntoTheRequest) {
  for (uint32_t i = 0; i < 3; ++i)
    domains_.domains.push_back(MakeDomain(i, "x"));
  Start();
  // Global flags after the verb work too (--json, --timeout).
  const char* argv[] = {"xenletctl",
                        "--socket",
                        socket_.c_str(),
                        "list",
                        "--json",
                        "--timeout",
                        "5",
                        "--all",
                        "--page-size",
                        "2",
                        "--domid",
                        "0",
                        "--domid",
                        "2",
                        "--state",
                        "running",
                        "--fields",
                        "domid,name",
                        "--name-prefix",
                        "x"};
  EXPECT_EQ(RunCli(std::size(argv), argv, out_, err_), kExitOk) << err_.str();
  auto requests = domains_.list_requests();
  ASSERT_EQ(requests.size(), 2u);
  const ListDomainsRequest& r = requests[0];
  ASSERT_EQ(r.filter().domids_size(), 2);
  EXPECT_EQ(r.filter().domids(1), 2u);
  ASSERT_EQ(r.filter().states_size(), 1);
  EXPECT_EQ(r.filter().states(0), xenlet::v1::DOMAIN_STATE_RUNNING);
  EXPECT_EQ(r.filter().name_prefix(), "x");
  ASSERT_EQ(r.read_mask().paths_size(), 2);
  EXPECT_EQ(r.read_mask().paths(1), "name");
  EXPECT_EQ(Lines(out_.str()).size(), 2u);  // JSON: one line per page
}

TEST_F(CommandsTest, ListWideAddsColumns) {
  Domain d = MakeDomain(3, "web");
  d.set_uuid("4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  domains_.domains.push_back(d);
  Start();
  ListOptions options;
  options.wide = true;
  EXPECT_EQ(RunList(Global(), options, out_, err_), kExitOk) << err_.str();
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_EQ(lines[0],
            "DOMID  NAME  UUID                                  STATE    "
            "REASON  VCPUS  MEM  MAXMEM  TARGET  CPUTIME  POOL  SSIDREF  "
            "FLAGS");
  EXPECT_NE(lines[1].find("4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b  running"),
            std::string::npos)
      << lines[1];
}

TEST_F(CommandsTest, GetWideAndNarrow) {
  domains_.domains.push_back(MakeDomain(7, "web"));
  Start();
  GetOptions options;
  options.selectors = {"7"};
  EXPECT_EQ(RunGet(Global(), options, out_, err_), kExitOk) << err_.str();
  EXPECT_EQ(Lines(out_.str())[0],
            "SELECTOR  STATUS  DOMID  NAME  STATE    REASON  VCPUS  MEM  "
            "CPUTIME  MESSAGE");
  options.wide = true;
  std::ostringstream out, err;
  EXPECT_EQ(RunGet(Global(), options, out, err), kExitOk) << err.str();
  EXPECT_NE(Lines(out.str())[0].find("  UUID  "), std::string::npos)
      << out.str();
}

// An output stream that notifies a cue at each flush: list --watch flushes
// once per table, so cues[i] says table i+1 is out.
class CueOnFlush : public std::stringbuf {
 public:
  explicit CueOnFlush(std::vector<absl::Notification*> cues)
      : cues_(std::move(cues)) {}

 protected:
  int sync() override {
    if (next_ < cues_.size()) cues_[next_++]->Notify();
    return 0;
  }

 private:
  std::vector<absl::Notification*> cues_;
  size_t next_ = 0;
};

// The tables in list --watch output, each with its '# <time>' line.
std::vector<std::vector<std::string>> Tables(const std::string& text) {
  std::vector<std::vector<std::string>> tables;
  for (const std::string& line : Lines(text)) {
    if (line.rfind("# ", 0) == 0) tables.emplace_back();
    if (tables.empty()) tables.emplace_back();  // output before any header
    tables.back().push_back(line);
  }
  return tables;
}

TEST_F(CommandsTest, ListWatchDrawsTheSyncedStateThenStopsAtCount) {
  using namespace xenlet::v1;
  FakeDomainService::Stream stream;
  stream.events = {DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10,
                               "inst-A", MakeDomain(2, "b")),
                   DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10,
                               "inst-A", MakeDomain(1, "a")),
                   Event(EVENT_TYPE_SYNCED, 10, "inst-A")};
  stream.hold_open = true;  // --count has to end it
  domains_.streams.push_back(stream);
  Start();

  ListOptions options;
  options.watch = true;
  options.interval_seconds = 0;
  options.count = 1;
  options.retry = FastRetry();
  options.filter.name_prefix = "web-";
  options.fields = {"name,state"};
  EXPECT_EQ(RunList(Global(), options, out_, err_), kExitOk) << err_.str();

  auto tables = Tables(out_.str());
  ASSERT_EQ(tables.size(), 1u) << out_.str();
  const std::vector<std::string>& t = tables[0];
  ASSERT_EQ(t.size(), 4u) << out_.str();
  EXPECT_TRUE(std::regex_match(
      t[0], std::regex(R"(# 2025-11-25 17:00:00 UTC  2 domains  )"
                       R"(revision 10)")))
      << t[0];
  EXPECT_EQ(t[1], "DOMID  NAME  STATE    REASON  VCPUS  MEM  CPUTIME");
  // In domid order; the columns --fields left out are dashes.
  EXPECT_EQ(t[2], "    -  a     running  -           -    -        -");
  EXPECT_EQ(t[3], "    -  b     running  -           -    -        -");
  EXPECT_EQ(err_.str(), "");

  auto requests = domains_.watch_requests();
  ASSERT_EQ(requests.size(), 1u);
  const WatchDomainsRequest& r = requests[0];
  EXPECT_TRUE(r.initial_state());
  EXPECT_EQ(r.filter().name_prefix(), "web-");
  // STATS refresh CPU time and memory: every second at least.
  EXPECT_EQ(r.stats_interval().seconds(), 1);
  // Events are applied by domid, shown or not.
  EXPECT_EQ(std::vector<std::string>(r.read_mask().paths().begin(),
                                     r.read_mask().paths().end()),
            (std::vector<std::string>{"name", "state", "domid"}));
}

TEST_F(CommandsTest, ListWatchRedrawsOnChangesOnlyAndAcrossAResync) {
  using namespace xenlet::v1;
  absl::Notification first, second;
  Domain b_paused = MakeDomain(2, "b");
  b_paused.set_state(DOMAIN_STATE_PAUSED);
  FakeDomainService::Stream stream;
  stream.events = {DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10,
                               "inst-A", MakeDomain(1, "a")),
                   DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10,
                               "inst-A", MakeDomain(2, "b")),
                   Event(EVENT_TYPE_SYNCED, 10, "inst-A")};
  // After the first table: STATS that change nothing shown (no table of
  // their own), then a pause. After the second, the agent goes away.
  WatchDomainsResponse stats =
      DomainEvent(EVENT_TYPE_STATS, TRANSITION_UNSPECIFIED, 10, "inst-A",
                  MakeDomain(1, "a"));
  stream.cued = {{&first,
                  {stats, DomainEvent(EVENT_TYPE_MODIFIED, TRANSITION_PAUSED,
                                      11, "inst-A", b_paused)}},
                 {&second, {}}};
  stream.end = grpc::Status(grpc::StatusCode::UNAVAILABLE, "agent restarting");
  domains_.streams.push_back(stream);
  // The restarted agent cannot resume: its current state, inline.
  WatchDomainsResponse resync = Event(EVENT_TYPE_RESYNC_REQUIRED, 3, "inst-B");
  resync.set_resync_reason(RESYNC_REASON_INSTANCE_CHANGED);
  FakeDomainService::Stream after;
  after.events = {
      resync,
      DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 3, "inst-B", b_paused),
      Event(EVENT_TYPE_SYNCED, 3, "inst-B")};
  after.hold_open = true;
  domains_.streams.push_back(after);
  Start();

  ListOptions options;
  options.watch = true;
  options.interval_seconds = 0;
  options.count = 3;
  options.retry = FastRetry();
  CueOnFlush buffer({&first, &second});
  std::ostream out(&buffer);
  EXPECT_EQ(RunList(Global(), options, out, err_), kExitOk) << err_.str();

  auto tables = Tables(buffer.str());
  ASSERT_EQ(tables.size(), 3u) << buffer.str();
  ASSERT_EQ(tables[1].size(), 4u) << buffer.str();
  EXPECT_NE(tables[1][0].find("2 domains  revision 11"), std::string::npos);
  EXPECT_EQ(tables[1][3], "    2  b     paused   -         0/0   0B     0.0s");
  // Only what the new agent has: domain 1 is gone.
  ASSERT_EQ(tables[2].size(), 3u) << buffer.str();
  EXPECT_NE(tables[2][0].find("1 domain  revision 3"), std::string::npos)
      << tables[2][0];
  EXPECT_EQ(tables[2][2], "    2  b     paused  -         0/0   0B     0.0s");

  auto requests = domains_.watch_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].resume().instance_id(), "inst-A");
  EXPECT_EQ(requests[1].resume().revision(), 11u);
  EXPECT_NE(err_.str().find("RESYNC_REQUIRED (instance_changed)"),
            std::string::npos)
      << err_.str();
}

TEST_F(CommandsTest, ListWatchJsonAndTerminal) {
  using namespace xenlet::v1;
  FakeDomainService::Stream stream;
  stream.events = {DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10,
                               "inst-A", MakeDomain(1, "a")),
                   Event(EVENT_TYPE_SYNCED, 10, "inst-A")};
  stream.hold_open = true;
  domains_.streams.push_back(stream);
  domains_.streams.push_back(stream);
  Start();

  ListOptions options;
  options.watch = true;
  options.count = 1;
  options.retry = FastRetry();
  // --json: a list --json page per table, as of the revision drawn.
  EXPECT_EQ(RunList(Global(/*json=*/true), options, out_, err_), kExitOk)
      << err_.str();
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 1u) << out_.str();
  xenlet::v1::ListDomainsResponse page;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(lines[0], &page).ok());
  EXPECT_EQ(page.domains_size(), 1);
  EXPECT_EQ(page.snapshot().instance_id(), "inst-A");
  EXPECT_EQ(page.snapshot().revision(), 10u);

  // A terminal is cleared before each table.
  options.terminal = true;
  std::ostringstream out, err;
  EXPECT_EQ(RunList(Global(), options, out, err), kExitOk) << err.str();
  EXPECT_EQ(out.str().rfind(kClearScreen, 0), 0u) << out.str();
  EXPECT_NE(out.str().find("\n    1  a "), std::string::npos) << out.str();
}

TEST_F(CommandsTest, ListWatchRefusesFlagsThatDoNotApply) {
  ListOptions options;
  options.watch = true;
  options.page_token = "p2";
  EXPECT_EQ(RunList(Global(), options, out_, err_), kExitUsage);
  EXPECT_EQ(err_.str(),
            "xenletctl: --page-size/--page-token: not with --watch (it shows "
            "every domain)\n"
            "Run 'xenletctl list --help' for usage and examples.\n");
  ListOptions bad_interval;
  bad_interval.watch = true;
  bad_interval.interval_seconds = -1;
  std::ostringstream out, err;
  EXPECT_EQ(RunList(Global(), bad_interval, out, err), kExitUsage);
  EXPECT_EQ(err.str().rfind("xenletctl: --interval: -1 is not in 0..3600", 0),
            0u)
      << err.str();
  ListOptions count_alone;
  count_alone.count = 2;
  std::ostringstream out2, err2;
  EXPECT_EQ(RunList(Global(), count_alone, out2, err2), kExitUsage);
  EXPECT_EQ(err2.str().rfind("xenletctl: --count: only with --watch\n", 0), 0u)
      << err2.str();
}

TEST_F(CommandsTest, CliListWatch) {
  using namespace xenlet::v1;
  FakeDomainService::Stream stream;
  stream.events = {DomainEvent(EVENT_TYPE_ADDED, TRANSITION_EXISTING, 10,
                               "inst-A", MakeDomain(1, "a")),
                   Event(EVENT_TYPE_SYNCED, 10, "inst-A")};
  stream.hold_open = true;
  domains_.streams.push_back(stream);
  Start();
  const char* argv[] = {"xenletctl", "--socket",   socket_.c_str(), "list",
                        "-w",        "--interval", "0.5",           "--count",
                        "1",         "--wide",     "--state",       "running"};
  EXPECT_EQ(RunCli(std::size(argv), argv, out_, err_), kExitOk) << err_.str();
  auto tables = Tables(out_.str());
  ASSERT_EQ(tables.size(), 1u) << out_.str();
  EXPECT_EQ(tables[0][1].rfind("DOMID  NAME  UUID  STATE", 0), 0u)
      << tables[0][1];
  auto requests = domains_.watch_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].filter().states_size(), 1);
  EXPECT_EQ(requests[0].stats_interval().seconds(), 1);  // 0.5 s, rounded up
}

TEST(CliTest, UsageErrorsAndHelp) {
  std::ostringstream out, err;
  const char* help[] = {"xenletctl", "watch", "--help"};
  EXPECT_EQ(RunCli(3, help, out, err), kExitOk);
  EXPECT_NE(out.str().find("--until-synced"), std::string::npos);

  const char* bad_domid[] = {"xenletctl", "list", "--domid", "40000"};
  std::ostringstream out2, err2;
  EXPECT_EQ(RunCli(4, bad_domid, out2, err2), kExitUsage);
  EXPECT_EQ(err2.str(),
            "xenletctl: --domid: '40000' is not a domain id (0..32751)\n"
            "Run 'xenletctl list --help' for usage and examples.\n");

  const char* unknown[] = {"xenletctl", "frobnicate"};
  std::ostringstream out3, err3;
  EXPECT_EQ(RunCli(2, unknown, out3, err3), kExitUsage);

  const char* remote[] = {"xenletctl", "--address", "192.0.2.1:50051", "host"};
  std::ostringstream out4, err4;
  EXPECT_EQ(RunCli(4, remote, out4, err4), kExitUsage);
  EXPECT_EQ(
      err4.str().rfind("xenletctl: --address: plaintext only to loopback", 0),
      0u)
      << err4.str();

  const char* both[] = {"xenletctl", "--socket",    "/x",
                        "--address", "127.0.0.1:1", "host"};
  std::ostringstream out5, err5;
  EXPECT_EQ(RunCli(6, both, out5, err5), kExitUsage);
}

}  // namespace
}  // namespace xenlet::ctl

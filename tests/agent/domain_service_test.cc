// DomainService over a DomainStore that the test writes directly (the
// reconciler's place): listings, batch lookups and watch streams, through
// the real gRPC server on a unix socket.
#include <grpcpp/grpcpp.h>

#include "agent/page_token.h"
#include "agent/server.h"
#include "gtest/gtest.h"
#include "store/domain_store.h"
#include "tests/testing/temp_dir.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::agent {
namespace {

std::string UuidFor(uint32_t domid) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012x", domid);
  return buf;
}

store::Change Added(uint32_t domid, const std::string& name) {
  store::Change c;
  c.type = v1::EVENT_TYPE_ADDED;
  c.transition = v1::TRANSITION_CREATED;
  c.domid = domid;
  c.domain = std::make_unique<v1::Domain>();
  c.domain->set_domid(domid);
  c.domain->set_uuid(UuidFor(domid));
  c.domain->set_name(name);
  c.domain->set_state(v1::DOMAIN_STATE_CREATED);
  c.domain->mutable_memory()->set_max_bytes(256u << 20);
  c.detected = absl::Now();
  return c;
}

store::Change Changed(uint32_t domid, const std::string& name,
                      v1::DomainState state, v1::Transition transition) {
  store::Change c = Added(domid, name);
  c.type = v1::EVENT_TYPE_MODIFIED;
  c.transition = transition;
  c.domain->set_state(state);
  return c;
}

store::Change Deleted(uint32_t domid) {
  store::Change c = Added(domid, "gone");
  c.type = v1::EVENT_TYPE_DELETED;
  c.transition = v1::TRANSITION_DESTROYED;
  c.domain->set_state(v1::DOMAIN_STATE_DESTROYED);
  return c;
}

class DomainServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.listeners.unix_socket = dir_.File("xenlet.sock");
    auto server = AgentServer::Start(options, {&store_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = v1::DomainService::NewStub(grpc::CreateChannel(
        "unix:" + server_->unix_socket(), grpc::InsecureChannelCredentials()));
  }

  uint64_t Commit(store::Change change) {
    std::vector<store::Change> changes;
    changes.push_back(std::move(change));
    return store_.Commit(std::move(changes));
  }

  void AddDomains(uint32_t first, uint32_t count, const std::string& prefix) {
    std::vector<store::Change> changes;
    for (uint32_t d = first; d < first + count; ++d) {
      changes.push_back(Added(d, prefix + std::to_string(d)));
    }
    store_.Commit(std::move(changes));
  }

  v1::ListDomainsResponse List(const v1::ListDomainsRequest& request,
                               grpc::Status* status = nullptr) {
    grpc::ClientContext context;
    v1::ListDomainsResponse response;
    grpc::Status s = stub_->ListDomains(&context, request, &response);
    if (status) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return response;
  }

  // A stream with a deadline, read message by message.
  struct Watch {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::WatchDomainsResponse>> reader;
    v1::WatchDomainsResponse Next() {
      v1::WatchDomainsResponse event;
      EXPECT_TRUE(reader->Read(&event)) << "stream ended early";
      return event;
    }
  };
  std::unique_ptr<Watch> StartWatch(const v1::WatchDomainsRequest& request) {
    auto watch = std::make_unique<Watch>();
    watch->context.set_deadline(std::chrono::system_clock::now() +
                                std::chrono::seconds(30));
    watch->reader = stub_->WatchDomains(&watch->context, request);
    return watch;
  }

  xenlet::testing::TempDir dir_;
  store::DomainStore store_{{"instance-a", 1000}};
  std::unique_ptr<AgentServer> server_;
  std::unique_ptr<v1::DomainService::Stub> stub_;
};

TEST_F(DomainServiceTest, ListsOneSnapshotWithFilterAndMask) {
  AddDomains(1, 5, "web-");
  AddDomains(10, 3, "db-");
  v1::ListDomainsRequest request;
  request.mutable_filter()->set_name_prefix("web-");
  request.mutable_read_mask()->add_paths("domid");
  request.mutable_read_mask()->add_paths("name");
  v1::ListDomainsResponse response = List(request);
  ASSERT_EQ(response.domains_size(), 5);
  EXPECT_EQ(response.total_size(), 5u);
  EXPECT_EQ(response.domains(0).name(), "web-1");
  EXPECT_EQ(response.domains(4).domid(), 5u);
  EXPECT_EQ(response.domains(0).uuid(), "");  // masked out
  EXPECT_FALSE(response.domains(0).has_memory());
  EXPECT_EQ(response.snapshot().instance_id(), "instance-a");
  EXPECT_EQ(response.snapshot().revision(), 8u);
  EXPECT_TRUE(response.next_page_token().empty());
}

TEST_F(DomainServiceTest, PagesComeFromTheFirstPagesSnapshot) {
  AddDomains(1, 25, "d");
  v1::ListDomainsRequest request;
  request.set_page_size(10);
  v1::ListDomainsResponse page = List(request);
  ASSERT_EQ(page.domains_size(), 10);
  const uint64_t revision = page.snapshot().revision();
  // The model moves on between pages: the listing does not.
  Commit(Deleted(15));
  AddDomains(30, 5, "late");
  std::vector<uint32_t> seen;
  for (const auto& d : page.domains()) seen.push_back(d.domid());
  while (!page.next_page_token().empty()) {
    request.set_page_token(page.next_page_token());
    page = List(request);
    EXPECT_EQ(page.snapshot().revision(), revision);
    EXPECT_EQ(page.total_size(), 25u);
    for (const auto& d : page.domains()) seen.push_back(d.domid());
  }
  ASSERT_EQ(seen.size(), 25u);
  for (uint32_t i = 0; i < 25; ++i) EXPECT_EQ(seen[i], i + 1);
}

TEST_F(DomainServiceTest, RefusesPageTokensOfAnotherInstance) {
  AddDomains(1, 3, "d");
  v1::ListDomainsRequest request;
  request.set_page_token(EncodePageToken({"instance-b", 3, 2}));
  grpc::Status status;
  List(request, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message().rfind("page_token:", 0), 0u);
}

TEST_F(DomainServiceTest, GetDomainsAnswersEverySelector) {
  AddDomains(1, 3, "vm-");
  v1::GetDomainsRequest request;
  request.add_selectors()->set_domid(2);
  request.add_selectors()->set_uuid(
      "00000000000040008000000000000003");  // bare form of domid 3's
  request.add_selectors()->set_name("vm-1");
  request.add_selectors()->set_domid(99);
  request.add_selectors()->set_name("nobody");
  grpc::ClientContext context;
  v1::GetDomainsResponse response;
  ASSERT_TRUE(stub_->GetDomains(&context, request, &response).ok());
  ASSERT_EQ(response.results_size(), 5);
  EXPECT_EQ(response.results(0).domain().domid(), 2u);
  EXPECT_EQ(response.results(1).domain().domid(), 3u);
  EXPECT_EQ(response.results(2).domain().domid(), 1u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(response.results(i).status().code(), 0);
  EXPECT_EQ(response.results(3).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(response.results(4).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(response.results(3).selector().domid(), 99u);
  EXPECT_EQ(response.snapshot().revision(), 3u);
}

// The old domain dying and its re-created successor (same UUID, new
// domid): the UUID selects the one that is not dying.
TEST_F(DomainServiceTest, AUuidSelectsTheLiveOneOfTwo) {
  store::Change old_one = Added(5, "web");
  old_one.domain->set_uuid(UuidFor(1000));
  old_one.domain->set_state(v1::DOMAIN_STATE_DYING);
  Commit(std::move(old_one));
  store::Change new_one = Added(9, "web");
  new_one.domain->set_uuid(UuidFor(1000));
  Commit(std::move(new_one));
  v1::GetDomainsRequest request;
  request.add_selectors()->set_uuid(UuidFor(1000));
  request.add_selectors()->set_domid(5);
  grpc::ClientContext context;
  v1::GetDomainsResponse response;
  ASSERT_TRUE(stub_->GetDomains(&context, request, &response).ok());
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).status().code(), 0)
      << response.results(0).status().message();
  EXPECT_EQ(response.results(0).domain().domid(), 9u);
  EXPECT_EQ(response.results(1).domain().domid(), 5u);
}

TEST_F(DomainServiceTest, WatchSendsStateThenSyncedThenLiveEvents) {
  AddDomains(1, 3, "d");
  v1::WatchDomainsRequest request;
  request.set_initial_state(true);
  auto watch = StartWatch(request);
  for (uint32_t d = 1; d <= 3; ++d) {
    v1::WatchDomainsResponse e = watch->Next();
    EXPECT_EQ(e.type(), v1::EVENT_TYPE_ADDED);
    EXPECT_EQ(e.transition(), v1::TRANSITION_EXISTING);
    EXPECT_EQ(e.domain().domid(), d);
    EXPECT_EQ(e.instance_id(), "instance-a");
  }
  v1::WatchDomainsResponse synced = watch->Next();
  EXPECT_EQ(synced.type(), v1::EVENT_TYPE_SYNCED);
  EXPECT_EQ(synced.revision(), 3u);

  Commit(Changed(2, "d2", v1::DOMAIN_STATE_RUNNING, v1::TRANSITION_STARTED));
  Commit(Deleted(3));
  v1::WatchDomainsResponse e = watch->Next();
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_MODIFIED);
  EXPECT_EQ(e.transition(), v1::TRANSITION_STARTED);
  EXPECT_EQ(e.revision(), 4u);
  EXPECT_EQ(e.domain().state(), v1::DOMAIN_STATE_RUNNING);
  EXPECT_TRUE(e.has_detected_time());
  e = watch->Next();
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_DELETED);
  EXPECT_EQ(e.revision(), 5u);
  watch->context.TryCancel();
}

TEST_F(DomainServiceTest, ResumeReplaysWhatWasMissedExactlyOnce) {
  AddDomains(1, 4, "d");  // revisions 1..4
  v1::WatchDomainsRequest request;
  request.mutable_resume()->set_instance_id("instance-a");
  request.mutable_resume()->set_revision(2);
  auto watch = StartWatch(request);
  EXPECT_EQ(watch->Next().revision(), 3u);
  EXPECT_EQ(watch->Next().revision(), 4u);
  v1::WatchDomainsResponse synced = watch->Next();
  EXPECT_EQ(synced.type(), v1::EVENT_TYPE_SYNCED);
  EXPECT_EQ(synced.revision(), 4u);
  Commit(Deleted(1));
  EXPECT_EQ(watch->Next().revision(), 5u);
  watch->context.TryCancel();
}

TEST_F(DomainServiceTest, ResumeAgainstAnotherInstanceResyncsInline) {
  AddDomains(1, 2, "d");
  v1::WatchDomainsRequest request;
  request.mutable_resume()->set_instance_id("instance-old");
  request.mutable_resume()->set_revision(77);
  request.set_resync_inline(true);
  auto watch = StartWatch(request);
  v1::WatchDomainsResponse resync = watch->Next();
  EXPECT_EQ(resync.type(), v1::EVENT_TYPE_RESYNC_REQUIRED);
  EXPECT_EQ(resync.resync_reason(), v1::RESYNC_REASON_INSTANCE_CHANGED);
  EXPECT_EQ(watch->Next().type(), v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(watch->Next().type(), v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(watch->Next().type(), v1::EVENT_TYPE_SYNCED);
  watch->context.TryCancel();
}

TEST_F(DomainServiceTest, ResyncWithoutInlineEndsTheStream) {
  v1::WatchDomainsRequest request;
  request.mutable_resume()->set_instance_id("instance-old");
  auto watch = StartWatch(request);
  EXPECT_EQ(watch->Next().type(), v1::EVENT_TYPE_RESYNC_REQUIRED);
  v1::WatchDomainsResponse extra;
  EXPECT_FALSE(watch->reader->Read(&extra));
  EXPECT_TRUE(watch->reader->Finish().ok());
}

// xenlet_watch_resyncs_total counts every watch told to resync, by reason.
TEST_F(DomainServiceTest, ResyncsAreCountedByReason) {
  AddDomains(1, 2, "d");
  for (int i = 0; i < 2; ++i) {
    v1::WatchDomainsRequest request;
    request.mutable_resume()->set_instance_id("instance-old");
    auto watch = StartWatch(request);
    EXPECT_EQ(watch->Next().type(), v1::EVENT_TYPE_RESYNC_REQUIRED);
    watch->context.TryCancel();
  }
  v1::WatchDomainsRequest ahead;
  ahead.mutable_resume()->set_instance_id(store_.instance_id());
  ahead.mutable_resume()->set_revision(store_.snapshot()->revision + 100);
  auto watch = StartWatch(ahead);
  v1::WatchDomainsResponse resync = watch->Next();
  EXPECT_EQ(resync.resync_reason(), v1::RESYNC_REASON_REVISION_IN_FUTURE);
  watch->context.TryCancel();
  auto resyncs = server_->stream_stats().resyncs;
  EXPECT_EQ(resyncs[v1::RESYNC_REASON_INSTANCE_CHANGED], 2u);
  EXPECT_EQ(resyncs[v1::RESYNC_REASON_REVISION_IN_FUTURE], 1u);
  EXPECT_EQ(resyncs[v1::RESYNC_REASON_REVISION_COMPACTED], 0u);
}

// The coalesced-events counter keeps what a stream coalesced after the
// stream ends: a Prometheus counter never goes down.
TEST(DomainServiceCountersTest, CoalescedEventsStayCountedAfterTheStreamEnds) {
  xenlet::testing::TempDir dir;
  store::DomainStore store({"instance-c", 100000});
  ServerOptions options;
  options.listeners.unix_socket = dir.File("xenlet.sock");
  options.domains.watch.queue_capacity = 4;
  auto server = AgentServer::Start(options, {&store});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::DomainService::NewStub(grpc::CreateChannel(
      "unix:" + (*server)->unix_socket(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::WatchDomainsRequest request;
  auto reader = stub->WatchDomains(&context, request);
  v1::WatchDomainsResponse first;
  // The client reads nothing more: big events fill the transport's buffers,
  // then the stream's queue of 4, which then coalesces per domain.
  const std::string big(4096, 'x');
  uint64_t coalesced = 0;
  for (int round = 0; round < 200 && coalesced == 0; ++round) {
    std::vector<store::Change> changes;
    for (uint32_t d = 1; d <= 50; ++d) {
      changes.push_back(Changed(d, big + std::to_string(round),
                                v1::DOMAIN_STATE_RUNNING,
                                v1::TRANSITION_UPDATED));
      if (round == 0) changes.back().type = v1::EVENT_TYPE_ADDED;
    }
    store.Commit(std::move(changes));
    coalesced = (*server)->stream_stats().coalesced_total;
  }
  ASSERT_GT(coalesced, 0u) << "the unread stream never coalesced";
  context.TryCancel();
  while (reader->Read(&first)) {
  }
  reader->Finish().IgnoreError();
  // The stream's end reaches the server after the client's cancel: wait
  // for it (bounded), then the counter must not have gone down.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while ((*server)->stream_stats().open > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));  // bounded poll for the end
  }
  ASSERT_EQ((*server)->stream_stats().open, 0u);
  EXPECT_GE((*server)->stream_stats().coalesced_total, coalesced);
  (*server)->Shutdown(absl::Seconds(1));
}

TEST_F(DomainServiceTest, FilteredWatchSeesDomainsEnterAndLeave) {
  AddDomains(1, 2, "d");
  v1::WatchDomainsRequest request;
  request.mutable_filter()->add_states(v1::DOMAIN_STATE_RUNNING);
  request.set_initial_state(true);  // SYNCED tells us the stream is live
  auto watch = StartWatch(request);
  ASSERT_EQ(watch->Next().type(), v1::EVENT_TYPE_SYNCED);  // none match yet
  Commit(Changed(1, "d1", v1::DOMAIN_STATE_RUNNING, v1::TRANSITION_STARTED));
  Commit(Changed(2, "d2", v1::DOMAIN_STATE_PAUSED, v1::TRANSITION_PAUSED));
  Commit(Changed(1, "d1", v1::DOMAIN_STATE_PAUSED, v1::TRANSITION_PAUSED));
  v1::WatchDomainsResponse e = watch->Next();
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(e.domain().domid(), 1u);
  e = watch->Next();
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_DELETED);
  EXPECT_EQ(e.domain().domid(), 1u);
  EXPECT_EQ(e.revision(), 5u);
  watch->context.TryCancel();
}

// Ten watchers without a mask and two with the same mask: each event is
// encoded once per form (two forms), whatever the number of streams, and
// every stream of a form gets the same bytes. A filter that turns an event
// into another type (MODIFIED seen as ADDED) is a form of its own.
TEST_F(DomainServiceTest, EachEventIsSerialisedOncePerForm) {
  AddDomains(1, 2, "d");
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < 12; ++i) {
    v1::WatchDomainsRequest request;
    request.set_initial_state(true);  // SYNCED tells us the stream is live
    if (i >= 10) request.mutable_read_mask()->add_paths("name");
    watches.push_back(StartWatch(request));
  }
  for (auto& watch : watches) {
    // The two domains, then SYNCED.
    EXPECT_EQ(watch->Next().type(), v1::EVENT_TYPE_ADDED);
    EXPECT_EQ(watch->Next().type(), v1::EVENT_TYPE_ADDED);
    ASSERT_EQ(watch->Next().type(), v1::EVENT_TYPE_SYNCED);
  }
  const auto before = server_->stream_stats();
  Commit(Changed(1, "d1", v1::DOMAIN_STATE_RUNNING, v1::TRANSITION_STARTED));
  Commit(Changed(2, "d2", v1::DOMAIN_STATE_PAUSED, v1::TRANSITION_PAUSED));
  Commit(Deleted(1));
  std::vector<std::vector<std::string>> received(watches.size());
  for (size_t i = 0; i < watches.size(); ++i) {
    for (int e = 0; e < 3; ++e) {
      v1::WatchDomainsResponse event = watches[i]->Next();
      EXPECT_EQ(event.revision(), 3u + e);
      EXPECT_EQ(event.domain().has_memory(), i < 10) << "mask not applied";
      received[i].push_back(event.SerializeAsString());
    }
    watches[i]->context.TryCancel();
  }
  for (size_t i = 1; i < watches.size(); ++i) {
    if (i != 10) {
      EXPECT_EQ(received[i], received[i < 10 ? 0 : 10]);
    }
  }
  const auto after = server_->stream_stats();
  EXPECT_EQ(after.events_sent - before.events_sent, 36u);
  EXPECT_EQ(after.events_encoded - before.events_encoded, 6u)
      << "3 events x 2 forms";
}

TEST_F(DomainServiceTest, IdleStreamGetsBookmarks) {
  AddDomains(1, 1, "d");
  v1::WatchDomainsRequest request;
  request.mutable_bookmark_interval()->set_seconds(1);
  auto watch = StartWatch(request);
  v1::WatchDomainsResponse e = watch->Next();
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_BOOKMARK);
  EXPECT_EQ(e.revision(), 1u);
  watch->context.TryCancel();
}

TEST_F(DomainServiceTest, OptInStatsCarryEveryMatchingDomain) {
  AddDomains(1, 3, "d");
  v1::WatchDomainsRequest request;
  request.mutable_stats_interval()->set_seconds(1);
  request.mutable_filter()->add_domids(2);
  request.mutable_filter()->add_domids(3);
  auto watch = StartWatch(request);
  v1::WatchDomainsResponse e = watch->Next();
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_STATS);
  EXPECT_EQ(e.domain().domid(), 2u);
  e = watch->Next();
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_STATS);
  EXPECT_EQ(e.domain().domid(), 3u);
  watch->context.TryCancel();
}

TEST_F(DomainServiceTest, StatsNeedTheirTypeWhenEventTypesAreGiven) {
  AddDomains(1, 2, "d");
  v1::WatchDomainsRequest request;
  request.mutable_stats_interval()->set_seconds(1);
  request.mutable_bookmark_interval()->set_seconds(1);
  request.add_event_types(v1::EVENT_TYPE_MODIFIED);
  auto watch = StartWatch(request);
  // Both are due after a second; only the BOOKMARK may come.
  EXPECT_EQ(watch->Next().type(), v1::EVENT_TYPE_BOOKMARK);
  watch->context.TryCancel();

  request.add_event_types(v1::EVENT_TYPE_STATS);
  auto with_stats = StartWatch(request);
  EXPECT_EQ(with_stats->Next().type(), v1::EVENT_TYPE_STATS);
  with_stats->context.TryCancel();
}

TEST_F(DomainServiceTest, ShutdownEndsStreamsWithUnavailable) {
  v1::WatchDomainsRequest request;
  request.set_initial_state(true);
  auto watch = StartWatch(request);
  EXPECT_EQ(watch->Next().type(), v1::EVENT_TYPE_SYNCED);
  server_->Shutdown(absl::Seconds(5));
  v1::WatchDomainsResponse extra;
  EXPECT_FALSE(watch->reader->Read(&extra));
  grpc::Status status = watch->reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status.error_message().find("resume"), std::string::npos);
  EXPECT_EQ(store_.subscription_count(), 0u);
}

}  // namespace
}  // namespace xenlet::agent

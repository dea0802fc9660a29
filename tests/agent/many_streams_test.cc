// Hundreds of open WatchDomains streams need no thread each: the server
// runs on gRPC's callback API. 300 streams are opened (by a callback-API
// client, which needs no thread per stream either), an event reaches all of
// them, and the process's thread count stays small.
#include <dirent.h>
#include <grpcpp/grpcpp.h>

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "agent/server.h"
#include "common/happens_before.h"
#include "gtest/gtest.h"
#include "store/domain_store.h"
#include "tests/testing/temp_dir.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::agent {
namespace {

int ThreadCount() {
  int n = 0;
  DIR* dir = opendir("/proc/self/task");
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

// Counts SYNCED and ADDED events of one stream.
class Reader : public grpc::ClientReadReactor<v1::WatchDomainsResponse> {
 public:
  Reader(v1::DomainService::Stub* stub, absl::Mutex* mutex, int* synced,
         int* added)
      : mutex_(mutex), synced_(synced), added_(added) {
    request_.set_initial_state(true);
    stub->async()->WatchDomains(&context_, &request_, this);
    StartRead(&event_);
    XENLET_HAPPENS_BEFORE(this);  // gRPC's threads take it from here
    StartCall();
  }
  void OnReadDone(bool ok) override {
    XENLET_HAPPENS_AFTER(this);
    if (!ok) return;
    {
      absl::MutexLock lock(mutex_);
      if (event_.type() == v1::EVENT_TYPE_SYNCED) ++*synced_;
      if (event_.type() == v1::EVENT_TYPE_ADDED) ++*added_;
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status&) override {
    XENLET_HAPPENS_AFTER(this);
    absl::MutexLock lock(mutex_);
    done_ = true;
  }
  void Cancel() { context_.TryCancel(); }
  // With *mutex_ held (not annotated: the analysis cannot name the mutex a
  // caller locked through another pointer).
  bool done() const { return done_; }

 private:
  grpc::ClientContext context_;
  v1::WatchDomainsRequest request_;
  v1::WatchDomainsResponse event_;
  absl::Mutex* mutex_;
  int* synced_;
  int* added_;
  bool done_ = false;
};

TEST(ManyStreamsTest, ThreeHundredStreamsWithoutAThreadEach) {
  xenlet::testing::TempDir dir;
  store::DomainStore store;
  ServerOptions options;
  options.listeners.unix_socket = dir.File("xenlet.sock");
  auto server = AgentServer::Start(options, {&store});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::DomainService::NewStub(grpc::CreateChannel(
      "unix:" + (*server)->unix_socket(), grpc::InsecureChannelCredentials()));

  constexpr int kStreams = 300;
  absl::Mutex mutex;
  int synced = 0, added = 0;
  const int threads_before = ThreadCount();
  std::vector<std::unique_ptr<Reader>> readers;
  for (int i = 0; i < kStreams; ++i) {
    readers.push_back(
        std::make_unique<Reader>(stub.get(), &mutex, &synced, &added));
  }
  {
    absl::MutexLock lock(&mutex);
    auto all_synced = [&] { return synced == kStreams; };
    ASSERT_TRUE(mutex.AwaitWithTimeout(absl::Condition(&all_synced),
                                       absl::Seconds(60)));
  }
  EXPECT_EQ((*server)->open_streams(), static_cast<size_t>(kStreams));
  const int threads_open = ThreadCount();

  // One commit reaches every stream.
  std::vector<store::Change> changes(1);
  changes[0].type = v1::EVENT_TYPE_ADDED;
  changes[0].transition = v1::TRANSITION_CREATED;
  changes[0].domid = 7;
  changes[0].domain = std::make_unique<v1::Domain>();
  changes[0].domain->set_domid(7);
  store.Commit(std::move(changes));
  {
    absl::MutexLock lock(&mutex);
    auto all_added = [&] { return added == kStreams; };
    ASSERT_TRUE(
        mutex.AwaitWithTimeout(absl::Condition(&all_added), absl::Seconds(60)));
  }
  // gRPC's pools grow a little with load; a thread per stream would add
  // 300 (and another 300 for the client side).
  RecordProperty("threads_before", threads_before);
  RecordProperty("threads_with_streams_open", threads_open);
  EXPECT_LT(threads_open - threads_before, 40)
      << threads_before << " threads before, " << threads_open << " with "
      << kStreams << " streams open";

  for (auto& reader : readers) reader->Cancel();
  {
    absl::MutexLock lock(&mutex);
    auto all_done = [&] {
      for (auto& reader : readers) {
        if (!reader->done()) return false;
      }
      return true;
    };
    ASSERT_TRUE(
        mutex.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(60)));
  }
}

}  // namespace
}  // namespace xenlet::agent

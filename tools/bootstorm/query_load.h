// Clients that list every domain as fast as they can while a storm runs,
// each on its own connection, as dashboards and orchestrators polling the
// agent would: a query is a whole ListDomains walk (every page). Records
// each query's latency in a histogram, so that hours of queries cost a
// fixed amount of memory.
#ifndef XENLET_TOOLS_BOOTSTORM_QUERY_LOAD_H_
#define XENLET_TOOLS_BOOTSTORM_QUERY_LOAD_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace xenlet::bootstorm {

// Latencies in buckets 2% wide, from 1 µs to about 20 minutes.
class LatencyHistogram {
 public:
  void Record(absl::Duration d);
  void Merge(const LatencyHistogram& other);
  uint64_t count() const { return count_; }
  // The latency below which a fraction q of the samples fall (the upper
  // edge of its bucket); zero without samples.
  absl::Duration Quantile(double q) const;
  absl::Duration max() const { return max_; }

 private:
  static constexpr size_t kBuckets = 1100;
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  absl::Duration max_;
};

struct QueryLoadReport {
  uint64_t queries = 0;
  uint64_t errors = 0;
  std::string first_error;
  LatencyHistogram latency;
  absl::Duration elapsed;
};

class QueryLoad {
 public:
  // Starts `clients` threads querying the agent at target: each as fast as
  // it can (interval zero), or one query every `interval`, its latency then
  // measured from when it was due (so that a slow answer delaying the next
  // query is counted, not hidden).
  QueryLoad(const std::string& target, int clients,
            absl::Duration interval = absl::ZeroDuration());
  ~QueryLoad();  // Stop()
  // Stops every client and waits for them; idempotent.
  void Stop();
  QueryLoadReport Report() const;

 private:
  struct Client {
    std::thread thread;
    mutable absl::Mutex mutex;
    QueryLoadReport report ABSL_GUARDED_BY(mutex);
  };
  void Loop(Client* client, const std::string& target);

  const absl::Duration interval_;
  std::atomic<bool> stop_{false};
  const absl::Time start_ = absl::Now();
  absl::Time end_ = absl::InfiniteFuture();
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace xenlet::bootstorm

#endif  // XENLET_TOOLS_BOOTSTORM_QUERY_LOAD_H_

// Bounds on open WatchDomains streams, over the whole agent and per peer,
// so that one client opening streams in a loop (a bug, or worse) cannot
// take the agent's memory and every other client's share of it. A stream
// over either bound is refused with RESOURCE_EXHAUSTED naming the bound
// and its flag.
#ifndef XENLET_AGENT_STREAM_LIMITS_H_
#define XENLET_AGENT_STREAM_LIMITS_H_

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/unix_acceptor.h"

namespace xenlet::agent {

struct StreamLimitOptions {
  size_t max_streams = 8192;           // --max-streams
  size_t max_streams_per_peer = 1024;  // --max-streams-per-peer
};

// Who a call comes from, for the per-peer bound: the uid on the unix
// socket ("uid 1000"), the address without its port over TCP
// ("ipv4:10.0.0.7"; every connection of a host is one peer), the gRPC peer
// name otherwise.
std::string PeerKey(const std::string& grpc_peer,
                    const PeerCredentials* credentials);

class StreamLimits {
 public:
  explicit StreamLimits(StreamLimitOptions options) : options_(options) {}

  // Counts a new stream of peer, or refuses it (RESOURCE_EXHAUSTED).
  absl::Status Acquire(const std::string& peer);
  // The stream Acquire counted is over.
  void Release(const std::string& peer);

  size_t open() const;
  uint64_t refused() const;

 private:
  const StreamLimitOptions options_;
  mutable absl::Mutex mutex_;
  size_t open_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::flat_hash_map<std::string, size_t> by_peer_ ABSL_GUARDED_BY(mutex_);
  uint64_t refused_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_STREAM_LIMITS_H_

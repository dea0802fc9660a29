// xenlet.v1.DomainService on the callback API. Queries and streams are
// served from the DomainStore alone: no xenstore request, no hypercall.
#ifndef XENLET_AGENT_DOMAIN_SERVICE_H_
#define XENLET_AGENT_DOMAIN_SERVICE_H_

#include <map>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "agent/encoded_domains.h"
#include "agent/snapshot_cache.h"
#include "agent/stream_limits.h"
#include "agent/unix_acceptor.h"
#include "agent/watch_stream.h"
#include "agent/xenstore_reader.h"
#include "store/domain_store.h"
#include "xen/types.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::agent {

struct DomainServiceOptions {
  WatchSettings watch;
  // Subtrees ReadXenstore may read.
  std::vector<std::string> xenstore_read_allow = kDefaultXenstoreReadAllow;
  // How often open streams are checked for due BOOKMARKs and STATS.
  absl::Duration tick = absl::Milliseconds(200);
  StreamLimitOptions limits;
};

// WatchDomains and ListDomains are registered raw: streams write encoded
// bytes shared between streams (agent/watch_stream.h), listings copy each
// domain's kept wire form (agent/encoded_domains.h); both parse their
// requests themselves.
class DomainServiceImpl final
    : public v1::DomainService::WithRawCallbackMethod_ListDomains<
          v1::DomainService::WithRawCallbackMethod_WatchDomains<
              v1::DomainService::CallbackService>> {
 public:
  // xenstore: how ReadXenstore connects; null answers it UNAVAILABLE.
  // peers: the unix socket's callers, for per-peer stream limits (null:
  // peers are told apart by their gRPC peer name alone).
  DomainServiceImpl(store::DomainStore* store, DomainServiceOptions options,
                    XenstoreReader::Connect xenstore = nullptr,
                    const PeerCredentials* peers = nullptr);
  ~DomainServiceImpl() override;

  grpc::ServerUnaryReactor* ListDomains(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetDomains(
      grpc::CallbackServerContext* context,
      const v1::GetDomainsRequest* request,
      v1::GetDomainsResponse* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchDomains(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* ReadXenstore(
      grpc::CallbackServerContext* context,
      const v1::ReadXenstoreRequest* request,
      v1::ReadXenstoreResponse* response) override;

  // Ends every open stream with UNAVAILABLE (clients resume elsewhere or
  // later) and refuses new ones; for a clean shutdown.
  void EndStreams();
  size_t open_streams() const;

  struct StreamStats {
    size_t open = 0;
    size_t max_queued = 0;         // the most backed-up open stream
    uint64_t coalesced_total = 0;  // over every stream so far
    uint64_t events_sent = 0;      // live and replayed, over every stream
    uint64_t events_encoded = 0;   // of those, serialised (not shared)
    std::map<v1::ResyncReason, uint64_t> resyncs;
    // Refused by --max-streams or --max-streams-per-peer.
    uint64_t refused = 0;
  };
  StreamStats stream_stats() const;
  // Domains' wire forms made for listings so far (each current message
  // once, however many listings send it).
  uint64_t listing_encodings() const { return listed_.encoded(); }

 private:
  void TickLoop();

  store::DomainStore* const store_;
  const DomainServiceOptions options_;
  EncodedDomains listed_;  // wire forms kept for listings
  // Up to 4 whole domid spaces' worth of domains pinned by paged walks.
  SnapshotCache listings_{64, absl::Minutes(5), 4 * xen::kMaxDomid};
  std::unique_ptr<XenstoreReader> reader_;
  const PeerCredentials* const peers_;
  StreamLimits limits_;

  mutable absl::Mutex streams_mutex_;
  absl::flat_hash_set<WatchStream*> streams_ ABSL_GUARDED_BY(streams_mutex_);
  bool ending_ ABSL_GUARDED_BY(streams_mutex_) = false;
  // Of the streams that have ended.
  uint64_t ended_coalesced_ ABSL_GUARDED_BY(streams_mutex_) = 0;
  WatchCounters watch_counters_;
  std::map<v1::ResyncReason, uint64_t> resyncs_ ABSL_GUARDED_BY(streams_mutex_);
  bool stop_ticker_ ABSL_GUARDED_BY(streams_mutex_) = false;
  std::thread ticker_;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_DOMAIN_SERVICE_H_

// Follows xenstore for the model, on its own thread and connection.
//
// Watches @introduceDomain and @releaseDomain (a domain came or went: ask
// for a sweep) and the domain keys the model tracks, either with one watch
// on /local/domain filtered here or with one watch per tracked key of each
// domain (WatchMode; see BENCHMARKS.md for what each costs xenstored).
// Drains each burst of events, then reads the tracked keys of the domains
// they touched, once per domain, with plain reads bracketed by two reads of
// the domain's vm key (no transaction: see ReadDomainKeys). When the
// connection to xenstored is lost it reconnects with backoff, registers its
// watches again and asks for a full resync (every domain's keys and a
// sweep): events missed while disconnected are never silently lost.
#ifndef XENLET_STORE_XENSTORE_WATCHER_H_
#define XENLET_STORE_XENSTORE_WATCHER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "xen/xenstore.h"

namespace xenlet::store {

enum class WatchMode {
  kSubtree,    // one watch on /local/domain, filtered by the agent
  kPerDomain,  // a watch per tracked key of each known domain
};

enum class XenstoreState { kConnected, kReconnecting, kResyncing };

// The tracked keys of one domain.
struct DomainKeys {
  xen::Domid domid = 0;
  bool exists = false;  // /local/domain/<domid> exists
  // The UUID the keys belong to, from the toolstack's "vm" key
  // (/vm/<uuid>); empty if there is none. A domid is reused by new domains:
  // this tells whose keys were read.
  std::string uuid;
  std::map<std::string, std::string> values;  // relative path -> value
};

struct XenstoreWatcherOptions {
  // Relative to /local/domain/<domid>/.
  std::vector<std::string> keys = {"name", "memory/target", "control/shutdown"};
  WatchMode mode = WatchMode::kSubtree;
  // Domains whose keys are handed to the model at once.
  size_t batch = 64;
  absl::Duration reconnect_initial = absl::Milliseconds(100);
  absl::Duration reconnect_max = absl::Seconds(5);
};

struct XenstoreWatcherStats {
  uint64_t watch_events = 0;
  uint64_t reconnects = 0;
  uint64_t key_reads = 0;  // domains whose keys were read
};

class XenstoreWatcher {
 public:
  using Connect =
      std::function<absl::StatusOr<std::unique_ptr<xen::XenstoreClient>>()>;
  struct Callbacks {
    // A domain was introduced or released: the hypervisor has news.
    std::function<void()> on_domain_change;
    // Keys read, in batches.
    std::function<void(std::vector<DomainKeys>)> on_keys;
    // Something changed under a domain's path, tracked key or not (a guest
    // that writes keys is running).
    std::function<void(xen::Domid)> on_domain_event;
    // Reconnected: keys were re-read for `domids`; events may have been
    // missed, so everything must be checked again.
    std::function<void()> on_resync;
    std::function<void(XenstoreState)> on_state;
  };

  XenstoreWatcher(Connect connect, XenstoreWatcherOptions options,
                  Callbacks callbacks);
  ~XenstoreWatcher();

  // Connects, registers the watches and follows events on a new thread.
  // If xenstored cannot be reached the error is returned but the thread
  // keeps trying, with backoff, and resyncs once connected.
  absl::Status Start();
  void Stop();

  // The model knows these domains (the reconciler tells it after each
  // sweep): keys of new ones are read, watches of gone ones dropped.
  void SetDomains(const std::vector<xen::Domid>& domids);
  // Read this domain's keys soon (coalesced).
  void RequestKeys(xen::Domid domid);

  XenstoreState state() const;
  XenstoreWatcherStats stats() const;

 private:
  void Loop();
  absl::Status Connected();  // registers watches on client_
  absl::Status Reconnect();
  void HandleEvent(const xen::WatchEvent& event);
  static size_t DomainPathLength(xen::Domid domid);
  absl::Status ReadDirtyKeys();
  // Handles the watch events already queued, without waiting.
  absl::Status HandleQueuedEvents();
  absl::StatusOr<DomainKeys> ReadDomainKeys(xen::Domid domid);
  // The canonical UUID from /local/domain/N/vm ("/vm/<uuid>"), or "".
  absl::StatusOr<std::string> ReadOwner(const std::string& base);
  absl::Status SyncPerDomainWatches();
  void SetState(XenstoreState state);

  const Connect connect_;
  const XenstoreWatcherOptions options_;
  const Callbacks callbacks_;
  std::vector<std::string> key_suffixes_;  // "/name", ... of options_.keys
  std::unique_ptr<xen::XenstoreClient> client_;  // the loop thread's

  mutable absl::Mutex mutex_;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  absl::btree_set<xen::Domid> known_ ABSL_GUARDED_BY(mutex_);
  absl::btree_set<xen::Domid> dirty_ ABSL_GUARDED_BY(mutex_);
  XenstoreState state_ ABSL_GUARDED_BY(mutex_) = XenstoreState::kReconnecting;
  XenstoreWatcherStats stats_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<xen::Domid> watched_;  // loop thread: per-domain mode
  std::thread thread_;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_XENSTORE_WATCHER_H_

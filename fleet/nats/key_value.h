// NATS key-value buckets (JetStream streams KV_<bucket>) over a
// Connection: open or create a bucket, put, get, delete, list keys, and
// watch keys for changes.
//
// A watcher (libnats 3.4.1's kvStore_Watch) first delivers the last
// revision of every matching key, delete and purge markers included, then
// a marker (WatchItem::kInitialDone; at once for no keys), then every
// change as it happens. It is an ordered push consumer that the server
// keeps in memory only, with idle heartbeats every 5 s. Across a reconnect
// (the same server restarted, even after SIGKILL, or another server of the
// cluster) it survives on its own: libnats recreates the consumer when it
// reconnects, starting at the stream sequence after the last one it
// delivered, so no change is lost or repeated and no new kInitialDone
// comes. If that attempt fails (JetStream not ready yet; in a cluster, a
// stream whose leader died has none for some seconds), libnats tries again
// each time it misses heartbeats for 10 s: the changes then come late (10
// to 30 s after a leader's loss here; docs/fleet.md measured 15-23 s), not
// lost. Next just times out meanwhile; the Connection reports the misses
// as asynchronous errors (on_async_error: "Missed Server Heartbeat").
//
// What it does not survive is the stream's sequences starting over: a
// bucket deleted and made again, or a server back without its store. It
// then resumes past the old last sequence and silently misses the new
// bucket's first changes. A reader that must not miss a change recreates
// its watcher when Connection::reconnects() grows and takes the new
// initial values as the truth (compare them with what it had: a key
// absent from them is gone, for good or with its marker purged).
// tests/fleet/nats_key_value_test.cc shows both.
#ifndef XENLET_FLEET_NATS_KEY_VALUE_H_
#define XENLET_FLEET_NATS_KEY_VALUE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fleet/nats/connection.h"
#include "fleet/nats/nats_ptr.h"

namespace xenlet::fleet::nats {

struct BucketConfig {
  std::string name;  // letters, digits, '-' and '_'
  int replicas = 1;
  // Values kept per key, 1 to 64.
  int history = 1;
  // Values older than this are removed. Zero: kept forever.
  absl::Duration max_age = absl::ZeroDuration();
};

enum class KvOperation { kPut, kDelete, kPurge };
absl::string_view KvOperationName(KvOperation op);

struct KvEntry {
  std::string key;
  std::string value;  // empty for a delete or purge
  uint64_t revision = 0;
  KvOperation operation = KvOperation::kPut;
  absl::Time created;  // when the server stored this revision
};

struct WatchItem {
  enum Kind {
    kEntry,        // `entry` is a change (or an initial value)
    kInitialDone,  // every initial value has been delivered
    kTimeout,      // nothing within Next's timeout
  };
  Kind kind = kTimeout;
  KvEntry entry;
};

class KvWatcher;

// Must not outlive its Connection. Thread-compatible: libnats's calls on
// one bucket are safe from several threads, but keep one user per object.
class KeyValue {
 public:
  // Binds to the bucket, creating it with `config` if it does not exist.
  // An existing bucket is used as it is, whatever its configuration.
  static absl::StatusOr<std::unique_ptr<KeyValue>> Open(
      Connection& conn, const BucketConfig& config);

  const std::string& bucket() const { return bucket_; }

  // Returns the new revision.
  absl::StatusOr<uint64_t> Put(const std::string& key, absl::string_view value);
  // Puts only if the key's last revision is `last_revision` (0: only if the
  // key has no value: never put, or deleted). Returns the new revision;
  // ABORTED if the key is elsewhere: another writer got there first.
  absl::StatusOr<uint64_t> Update(const std::string& key,
                                  absl::string_view value,
                                  uint64_t last_revision);
  // Puts a delete marker (kept in the history; Get then says nullopt).
  absl::Status Delete(const std::string& key);
  // The key's current value, or nullopt if it has none (never put,
  // deleted, purged).
  absl::StatusOr<std::optional<KvEntry>> Get(const std::string& key);
  // The keys with a value now, matching `filter` (">" for all, "h1.>"
  // for those under h1), sorted.
  absl::StatusOr<std::vector<std::string>> Keys(
      const std::string& filter = ">");
  // Watches the keys matching `filter` (see the top of this file).
  absl::StatusOr<std::unique_ptr<KvWatcher>> Watch(const std::string& filter);

 private:
  KeyValue(Connection& conn, std::string bucket, KvStorePtr kv)
      : conn_(conn), bucket_(std::move(bucket)), kv_(std::move(kv)) {}

  Connection& conn_;
  const std::string bucket_;
  KvStorePtr kv_;
};

// Must not outlive its Connection.
class KvWatcher {
 public:
  // Waits up to `timeout` for the next item. After Stop(), fails with
  // CANCELLED.
  absl::StatusOr<WatchItem> Next(absl::Duration timeout);
  // Makes a Next that waits now, or later, return CANCELLED. Safe to call
  // from another thread while one waits in Next.
  void Stop();

 private:
  friend class KeyValue;
  KvWatcher(std::string description, KvWatcherPtr watcher)
      : description_(std::move(description)), watcher_(std::move(watcher)) {}

  const std::string description_;  // "watch xenlet-domains h1.>"
  KvWatcherPtr watcher_;
};

}  // namespace xenlet::fleet::nats

#endif  // XENLET_FLEET_NATS_KEY_VALUE_H_

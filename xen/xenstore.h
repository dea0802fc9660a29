// xenstore as xenlet sees it: one connection to xenstored, its transactions
// and watches. store/ and agent/ use only this interface; libxenstore_client.h
// implements it over the real libxenstore.
#ifndef XENLET_XEN_XENSTORE_H_
#define XENLET_XEN_XENSTORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "xen/types.h"

namespace xenlet::xen {

// Errors: NOT_FOUND for a missing node, ABORTED for a transaction conflict
// (EAGAIN: retry the whole transaction), UNAVAILABLE when the connection to
// xenstored is lost (reconnect, then resync: events may have been missed).

// Reads and writes that see one consistent state and commit atomically.
// Ends with Commit() or Abort(); destroying an open one aborts it.
class XenstoreTransaction {
 public:
  virtual ~XenstoreTransaction() = default;
  virtual absl::StatusOr<std::string> Read(std::string_view path) = 0;
  virtual absl::StatusOr<std::vector<std::string>> Directory(
      std::string_view path) = 0;
  virtual absl::Status Write(std::string_view path, std::string_view value) = 0;
  virtual absl::Status Mkdir(std::string_view path) = 0;
  virtual absl::Status Remove(std::string_view path) = 0;
  // Sets the node's permissions, in xenstore's string form ("n0", "r7", ...).
  virtual absl::Status SetPermissions(
      std::string_view path, const std::vector<std::string>& perms) = 0;
  virtual absl::StatusOr<std::vector<std::string>> GetPermissions(
      std::string_view path) = 0;
  // ABORTED if another writer changed what this transaction read or wrote.
  virtual absl::Status Commit() = 0;
  virtual void Abort() = 0;
};

struct WatchEvent {
  std::string path;
  std::string token;
};

class XenstoreClient {
 public:
  virtual ~XenstoreClient() = default;

  virtual absl::StatusOr<std::unique_ptr<XenstoreTransaction>>
  BeginTransaction() = 0;

  // Single requests outside any transaction.
  virtual absl::StatusOr<std::string> Read(std::string_view path) = 0;
  virtual absl::StatusOr<std::vector<std::string>> Directory(
      std::string_view path) = 0;
  virtual absl::Status Write(std::string_view path, std::string_view value) = 0;
  virtual absl::Status Remove(std::string_view path) = 0;

  // Registers a watch on path (and its subtree), or on "@introduceDomain" /
  // "@releaseDomain". xenstored delivers one event at once on registration.
  virtual absl::Status Watch(std::string_view path, std::string_view token) = 0;
  virtual absl::Status Unwatch(std::string_view path,
                               std::string_view token) = 0;
  // A file descriptor that becomes readable when watch events are pending.
  virtual int WatchFd() = 0;
  // The next pending event, waiting up to timeout; nullopt when none came.
  virtual absl::StatusOr<std::optional<WatchEvent>> NextWatchEvent(
      absl::Duration timeout) = 0;

  // Toolstack operations (the simulator uses them; the agent does not).
  virtual absl::Status IntroduceDomain(Domid domid, uint64_t ring_mfn,
                                       uint32_t event_channel) = 0;
  virtual absl::Status ReleaseDomain(Domid domid) = 0;
  // XS_RESUME: the domain runs again after a suspend (its shutdown is over
  // for xenstored, which fires @releaseDomain for the next one).
  virtual absl::Status ResumeDomain(Domid domid) = 0;
  virtual absl::StatusOr<bool> IsDomainIntroduced(Domid domid) = 0;
};

// How often a transaction is retried when it conflicts.
struct RetryPolicy {
  int max_attempts = 16;
  absl::Duration initial_backoff = absl::Microseconds(100);
  absl::Duration max_backoff = absl::Milliseconds(50);
};

// Runs body in a fresh transaction and commits it, retrying the whole body
// on conflict (ABORTED) up to policy.max_attempts times with jittered
// exponential backoff. A body error other than ABORTED aborts and is
// returned as is. *attempts, if given, receives the number of attempts made.
absl::Status RunTransaction(
    XenstoreClient& client,
    const std::function<absl::Status(XenstoreTransaction&)>& body,
    const RetryPolicy& policy = {}, int* attempts = nullptr);

// "/local/domain/<domid>".
std::string DomainPath(Domid domid);

}  // namespace xenlet::xen

#endif  // XENLET_XEN_XENSTORE_H_

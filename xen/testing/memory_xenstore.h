// A xenstored held in memory, for unit tests of the code above xen/ (the
// watcher, control's key writes), the way leveldb ships an in-memory Env
// beside the real one. Each Connect() is one XenstoreClient connection with
// its own watches and event queue. It follows C xenstored 4.17
// (tools/xenstore/xenstored_core.c, _watch.c, _transaction.c, _domain.c)
// where the agent relies on it:
// - it starts with /tool/xenstored and dom0 introduced;
// - a write creates missing parents; reading or listing a missing node is
//   NOT_FOUND (ENOENT), and so is removing one whose parent is missing
//   (a missing node under an existing parent is removed without error);
// - a watch fires once on registration; a change of a node fires the
//   watches on it and on its ancestors with the node's path; a removal
//   first fires the watches on each removed descendant exactly, deepest
//   first; `@` names fire only when named (IntroduceDomain of a domain
//   other than dom0, ReleaseDomain, FireSpecial);
// - a transaction takes no snapshot: it reads each node from the store
//   when it first touches it and commits only if none of those changed
//   since, else ABORTED (EAGAIN); its watches fire at commit, once a node;
// - a new node takes its parent's permissions (the writer is dom0).
// Where it differs: Directory() lists children sorted by name (xenstored:
// in creation order; nothing in xenlet depends on either), paths must be
// absolute (xenstored also takes them relative to the caller's home), and
// no quota or permission is enforced.
//
// Crash() is xenstored dying: every connection fails with UNAVAILABLE from
// then on and the store is lost; Restart() brings an empty one back.
#ifndef XENLET_XEN_TESTING_MEMORY_XENSTORE_H_
#define XENLET_XEN_TESTING_MEMORY_XENSTORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "xen/xenstore.h"

namespace xenlet::xen::testing {

class MemoryXenstore {
 public:
  MemoryXenstore();
  ~MemoryXenstore();

  // A new connection. UNAVAILABLE while crashed.
  absl::StatusOr<std::unique_ptr<XenstoreClient>> Connect();

  // xenstored dies: open connections fail with UNAVAILABLE (their watch
  // fds turn readable so that a waiting reader notices), new ones are
  // refused, the store is gone.
  void Crash();
  // A new, empty xenstored.
  void Restart();

  // Fires a special watch (`@releaseDomain`, `@introduceDomain`) as
  // xenstored does on its own, e.g. when a domain dies.
  void FireSpecial(std::string_view name);

  // Requests served, on every connection (a watch event is not one).
  uint64_t requests() const;
  uint64_t transactions_committed() const;
  uint64_t transactions_conflicted() const;

  struct State;  // shared with the connections

 private:
  std::shared_ptr<State> state_;
};

}  // namespace xenlet::xen::testing

#endif  // XENLET_XEN_TESTING_MEMORY_XENSTORE_H_

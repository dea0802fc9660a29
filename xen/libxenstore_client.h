// XenstoreClient over the real libxenstore: one xs_handle, one connection
// to xenstored (its unix socket, or /dev/xen/xenbus).
#ifndef XENLET_XEN_LIBXENSTORE_CLIENT_H_
#define XENLET_XEN_LIBXENSTORE_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "xen/call_observer.h"
#include "xen/xenstore.h"

namespace xenlet::xen {

struct XenstoreOptions {
  // xenstored's socket; empty means libxenstore's default (XENSTORED_PATH,
  // then the standard socket, then /dev/xen/xenbus).
  std::string socket_path;
  // Told of every request; must outlive the client. Null: none.
  CallObserver* observer = nullptr;
  // The longest a request may wait for xenstored's answer; zero (the
  // default here; the agent's --xenstore-timeout is 10 s): forever.
  // libxenstore has no bound of its own, so a xenstored that accepted the
  // connection and then stopped answering (SIGSTOP, a deadlock) would hang
  // its callers. With a bound:
  //  - opening first asks xenstored on a connection of its own, and fails
  //    with UNAVAILABLE if it does not answer in time (libxenstore's
  //    connect would block for good once a stopped daemon's backlog is
  //    full);
  //  - a request that waits longer fails as a lost connection (UNAVAILABLE);
  //    on a connection with watches it gets at least two thirds of the
  //    bound, as the bound runs from the last byte received;
  //  - a client with watches asks xenstored something cheap whenever it has
  //    not for a third of the bound, so that an idle but live connection is
  //    never taken for a dead one; it must call NextWatchEvent that often.
  // Only on xenstored's unix socket: the xenbus device (xenstored in a
  // stub domain) has no bound, and a warning says so once.
  absl::Duration request_timeout;
};

// UNAVAILABLE if xenstored cannot be reached.
absl::StatusOr<std::unique_ptr<XenstoreClient>> OpenLibxenstoreClient(
    const XenstoreOptions& options);

// One XS_CONTROL request to xenstored on its own connection, e.g.
// {"log", "off"}; xenstored's answer. For operators' tools and the
// simulated host, never for an RPC: it can change how xenstored runs.
absl::StatusOr<std::string> XenstoredControl(
    const std::string& socket_path, const std::vector<std::string>& words);

}  // namespace xenlet::xen

#endif  // XENLET_XEN_LIBXENSTORE_CLIENT_H_

// XenstoreClient over the real libxenstore: one xs_handle, one connection
// to xenstored (its unix socket, or /dev/xen/xenbus).
#ifndef XENLET_XEN_LIBXENSTORE_CLIENT_H_
#define XENLET_XEN_LIBXENSTORE_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "xen/call_observer.h"
#include "xen/xenstore.h"

namespace xenlet::xen {

struct XenstoreOptions {
  // xenstored's socket; empty means libxenstore's default (XENSTORED_PATH,
  // then the standard socket, then /dev/xen/xenbus).
  std::string socket_path;
  // Told of every request; must outlive the client. Null: none.
  CallObserver* observer = nullptr;
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

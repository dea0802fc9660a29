// Maps errno values from Xen's libraries to absl::Status codes, so callers
// above xen/ never look at errno.
#ifndef XENLET_XEN_ERRNO_STATUS_H_
#define XENLET_XEN_ERRNO_STATUS_H_

#include <string_view>

#include "absl/status/status.h"

namespace xenlet::xen {

// ENOENT/ESRCH -> NOT_FOUND, EAGAIN -> ABORTED (retry), EINVAL ->
// INVALID_ARGUMENT (for Xen: the operation does not apply to the domain in its
// state, e.g. unpausing an unpaused domain), EACCES/EPERM -> PERMISSION_DENIED,
// EOVERFLOW -> RESOURCE_EXHAUSTED, connection errors (EPIPE, ECONNRESET,
// ECONNREFUSED, EIO, EBADF, ENOTCONN) -> UNAVAILABLE, others -> INTERNAL.
// The message is "<what>: <strerror> (errno N)"; the errno is kept in the
// status payload "xenlet.errno" so callers can count by errno.
absl::Status ErrnoToStatus(int err, std::string_view what);

// The errno recorded by ErrnoToStatus, or 0.
int StatusErrno(const absl::Status& status);

// A lost xenstored connection (the caller must reconnect and resync).
bool IsConnectionLost(const absl::Status& status);

}  // namespace xenlet::xen

#endif  // XENLET_XEN_ERRNO_STATUS_H_

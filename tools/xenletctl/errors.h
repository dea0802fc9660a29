// How xenletctl reports failures: one line on stderr, a documented exit code.
#ifndef XENLET_TOOLS_XENLETCTL_ERRORS_H_
#define XENLET_TOOLS_XENLETCTL_ERRORS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace xenlet::ctl {

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND (also for ItemStatus codes,
// which use the same numbers).
std::string StatusCodeName(int code);

// Prints "xenletctl: <method>: <CODE>: <message>" to `err` and returns
// kExitRpcError. UNIMPLEMENTED gets a hint: the agent answers it for methods
// it does not implement yet.
int ReportRpcError(std::ostream& err, const std::string& method,
                   const grpc::Status& status);

// Prints "xenletctl: <message>" and returns kExitUsage: a flag value was
// refused before anything was sent.
int ReportUsageError(std::ostream& err, const absl::Status& status);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_ERRORS_H_

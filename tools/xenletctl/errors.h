// How xenletctl reports failures: what went wrong on one line of stderr,
// what to do next on the line after it, and a documented exit code.
#ifndef XENLET_TOOLS_XENLETCTL_ERRORS_H_
#define XENLET_TOOLS_XENLETCTL_ERRORS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "tools/xenletctl/connection.h"

namespace xenlet::ctl {

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND (also for ItemStatus codes,
// which use the same numbers).
std::string StatusCodeName(int code);

// Prints "xenletctl: <method>: <CODE>: <message>", or for an agent that
// could not be reached "xenletctl: cannot reach xenlet at <target>: <why>.",
// then the next step when there is one (error_hints.h); returns
// kExitRpcError. UNIMPLEMENTED says the agent does not implement the method
// yet.
int ReportRpcError(std::ostream& err, const std::string& method,
                   const grpc::Status& status,
                   const ConnectionOptions& connection);

// "Run 'xenletctl VERB --help' for usage and examples." (no verb: the
// top-level help).
std::string UsageHint(const std::string& verb);

// Prints "xenletctl: <message>" and UsageHint(verb); returns kExitUsage: a
// flag value was refused before anything was sent.
int ReportUsageError(std::ostream& err, const std::string& verb,
                     const absl::Status& status);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_ERRORS_H_

#include "tools/xenletctl/errors.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/xenletctl/error_hints.h"
#include "tools/xenletctl/exit_codes.h"

namespace xenlet::ctl {

std::string StatusCodeName(int code) {
  // gRPC's codes are absl's, number for number.
  if (code < 0 || code > 16) return absl::StrCat("CODE_", code);
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

int ReportRpcError(std::ostream& err, const std::string& method,
                   const grpc::Status& status,
                   const ConnectionOptions& connection) {
  if (IsUnreachable(status)) {
    // gRPC's "failed to connect to all addresses; last error: ..." names
    // neither the tool's flags nor the agent.
    err << "xenletctl: cannot reach xenlet at " << TargetName(connection)
        << ": " << UnreachableReason(status) << ".\n";
  } else {
    err << "xenletctl: " << method << ": "
        << StatusCodeName(status.error_code()) << ": "
        << status.error_message();
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      err << " (this agent does not implement " << method << " yet)";
    }
    err << '\n';
  }
  std::string step = NextStep(method, status, connection);
  if (!step.empty()) err << step << '\n';
  return kExitRpcError;
}

std::string UsageHint(const std::string& verb) {
  return absl::StrCat("Run 'xenletctl ", verb, verb.empty() ? "" : " ",
                      "--help' for usage and examples.");
}

int ReportUsageError(std::ostream& err, const std::string& verb,
                     const absl::Status& status) {
  err << "xenletctl: " << std::string(status.message()) << '\n'
      << UsageHint(verb) << '\n';
  return kExitUsage;
}

}  // namespace xenlet::ctl

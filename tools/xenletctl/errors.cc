#include "tools/xenletctl/errors.h"

#include <iterator>

#include "absl/strings/str_cat.h"
#include "tools/xenletctl/exit_codes.h"

namespace xenlet::ctl {

std::string StatusCodeName(int code) {
  static const char* const kNames[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) {
    return kNames[code];
  }
  return absl::StrCat("CODE_", code);
}

int ReportRpcError(std::ostream& err, const std::string& method,
                   const grpc::Status& status) {
  err << "xenletctl: " << method << ": " << StatusCodeName(status.error_code())
      << ": " << status.error_message();
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    err << " (this agent does not implement " << method << " yet)";
  }
  err << '\n';
  return kExitRpcError;
}

int ReportUsageError(std::ostream& err, const absl::Status& status) {
  err << "xenletctl: " << std::string(status.message()) << '\n';
  return kExitUsage;
}

}  // namespace xenlet::ctl

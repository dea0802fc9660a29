#include "tools/xenletctl/errors.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/xenletctl/exit_codes.h"

namespace xenlet::ctl {

std::string StatusCodeName(int code) {
  // gRPC's codes are absl's, number for number.
  if (code < 0 || code > 16) return absl::StrCat("CODE_", code);
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
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

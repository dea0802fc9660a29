// libFuzzer target: every request's validation, on any bytes. The first
// byte picks the request type, the rest is parsed as that message (binary
// protobuf); parse failures are fine, a crash or a hang is not. Valid or
// not, validation must answer OK or INVALID_ARGUMENT naming a field.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "agent/request_validation.h"
#include "xenlet/v1/control_service.pb.h"
#include "xenlet/v1/domain_service.pb.h"

namespace {

using namespace xenlet;  // NOLINT: a fuzz target's one function

template <typename Request>
void Check(const uint8_t* data, size_t size,
           absl::Status (*validate)(const Request&)) {
  Request request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  const absl::Status s = validate(request);
  if (!s.ok() &&
      (s.code() != absl::StatusCode::kInvalidArgument || s.message().empty())) {
    std::abort();  // validation must only say INVALID_ARGUMENT, with why
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* rest = data + 1;
  const size_t n = size - 1;
  switch (data[0] % 8) {
    case 0:
      Check(rest, n, &agent::ValidateListDomains);
      break;
    case 1:
      Check(rest, n, &agent::ValidateGetDomains);
      break;
    case 2:
      Check(rest, n, &agent::ValidateWatchDomains);
      break;
    case 3:
      Check(rest, n, &agent::ValidateReadXenstore);
      break;
    case 4:
      Check(rest, n, &agent::ValidatePauseDomains);
      break;
    case 5:
      Check(rest, n, &agent::ValidateUnpauseDomains);
      break;
    case 6:
      Check(rest, n, &agent::ValidateShutdownDomains);
      break;
    case 7:
      Check(rest, n, &agent::ValidateDestroyDomains);
      break;
  }
  return 0;
}

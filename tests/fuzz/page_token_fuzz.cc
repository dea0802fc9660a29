// libFuzzer target: page tokens are client input. Any text decodes to a
// token or to INVALID_ARGUMENT naming page_token; a decoded token encodes
// back to a token that decodes to the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/page_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using xenlet::agent::DecodePageToken;
  using xenlet::agent::EncodePageToken;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto token = DecodePageToken(text);
  if (!token.ok()) {
    if (token.status().code() != absl::StatusCode::kInvalidArgument ||
        token.status().message().find("page_token") == std::string::npos) {
      std::abort();
    }
    return 0;
  }
  auto again = DecodePageToken(EncodePageToken(*token));
  if (!again.ok() || again->instance_id != token->instance_id ||
      again->revision != token->revision ||
      again->next_domid != token->next_domid) {
    std::abort();
  }
  return 0;
}

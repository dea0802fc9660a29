// libFuzzer target: the xenstore path check that stands between a client
// and xenstored. Whatever it accepts must be absolute, without empty
// segments or a trailing slash (but for the root), of letters, digits and
// / - _ @ only.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/request_validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view path(reinterpret_cast<const char*>(data), size);
  const absl::Status s = xenlet::agent::ValidateXenstorePath(path, "paths[0]");
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  // "/" (the root) is a path; the allow-list decides whether it is read.
  if (path.empty() || path[0] != '/' ||
      (path.size() > 1 && path.back() == '/') ||
      path.find("//") != std::string_view::npos) {
    std::abort();
  }
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '/' || c == '-' ||
                    c == '_' || c == '@';
    if (!ok) std::abort();
  }
  return 0;
}

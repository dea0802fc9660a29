// ListDomains page tokens: opaque to clients, they pin the listing to one
// agent instance and one snapshot revision and say where the next page
// starts.
#ifndef XENLET_AGENT_PAGE_TOKEN_H_
#define XENLET_AGENT_PAGE_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace xenlet::agent {

struct PageToken {
  std::string instance_id;
  uint64_t revision = 0;
  uint32_t next_domid = 0;  // the first domid of the next page
};

std::string EncodePageToken(const PageToken& token);

// INVALID_ARGUMENT naming "page_token" if text is not a token this agent
// version wrote (whatever instance wrote it).
absl::StatusOr<PageToken> DecodePageToken(std::string_view text);

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_PAGE_TOKEN_H_

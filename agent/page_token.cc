#include "agent/page_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "xen/types.h"

namespace xenlet::agent {
namespace {

constexpr char kVersionTag[] = "p1";

absl::Status Malformed(std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("page_token: malformed (", std::string(why),
                   "); pass the next_page_token of a previous answer"));
}

}  // namespace

std::string EncodePageToken(const PageToken& token) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kVersionTag, ":", token.instance_id, ":", token.revision,
                   ":", token.next_domid));
}

absl::StatusOr<PageToken> DecodePageToken(std::string_view text) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(std::string(text), &raw)) {
    return Malformed("not base64");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, ':');
  if (parts.size() != 4 || parts[0] != kVersionTag) {
    return Malformed("unknown format");
  }
  PageToken token;
  token.instance_id = parts[1];
  if (token.instance_id.empty()) return Malformed("no instance");
  if (!absl::SimpleAtoi(parts[2], &token.revision)) {
    return Malformed("bad revision");
  }
  if (!absl::SimpleAtoi(parts[3], &token.next_domid) ||
      token.next_domid > xen::kDomidFirstReserved) {
    return Malformed("bad position");
  }
  return token;
}

}  // namespace xenlet::agent

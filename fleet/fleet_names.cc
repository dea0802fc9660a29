#include "fleet/fleet_names.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace xenlet::fleet {
namespace {

constexpr size_t kMaxHostId = 64;

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

absl::Status ValidateHostId(absl::string_view host) {
  if (host.empty() || host.size() > kMaxHostId) {
    return absl::InvalidArgumentError(
        absl::StrCat("host id \"", host, "\": 1 to ", kMaxHostId,
                     " characters, not ", host.size()));
  }
  for (char c : host) {
    if (!IsTokenChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("host id \"", host,
                       "\": only letters, digits, '-' "
                       "and '_' (one NATS subject token)"));
    }
  }
  return absl::OkStatus();
}

std::string HostIdFromHostname(absl::string_view hostname) {
  std::string id;
  for (char c : hostname.substr(0, kMaxHostId)) {
    id.push_back(IsTokenChar(c) ? c : '_');
  }
  return id.empty() ? "_" : id;
}

std::string DomainKey(absl::string_view host, absl::string_view uuid,
                      uint32_t domid) {
  return absl::StrCat(host, ".", uuid, ".", domid);
}

std::string MessageId(absl::string_view host, absl::string_view instance_id,
                      uint64_t revision) {
  return absl::StrCat(host, ":", instance_id, ":", revision);
}

std::optional<MessageIdParts> ParseMessageId(absl::string_view id) {
  const size_t first = id.find(':');
  const size_t last = id.rfind(':');
  if (first == absl::string_view::npos || first == last || first == 0 ||
      last == first + 1) {
    return std::nullopt;
  }
  MessageIdParts parts;
  parts.host = std::string(id.substr(0, first));
  parts.instance_id = std::string(id.substr(first + 1, last - first - 1));
  if (!absl::SimpleAtoi(id.substr(last + 1), &parts.revision)) {
    return std::nullopt;
  }
  return parts;
}

std::string EventsSubject(absl::string_view host) {
  return absl::StrCat(kEventsSubjectPrefix, host);
}

std::string HostDomainsFilter(absl::string_view host) {
  return absl::StrCat(host, ".>");
}

std::optional<DomainKeyParts> ParseDomainKey(absl::string_view key) {
  const std::vector<absl::string_view> tokens = absl::StrSplit(key, '.');
  DomainKeyParts parts;
  if (tokens.size() != 3 || tokens[1].empty() ||
      !ValidateHostId(tokens[0]).ok() ||
      !absl::SimpleAtoi(tokens[2], &parts.domid)) {
    return std::nullopt;
  }
  parts.host = std::string(tokens[0]);
  parts.uuid = std::string(tokens[1]);
  return parts;
}

}  // namespace xenlet::fleet

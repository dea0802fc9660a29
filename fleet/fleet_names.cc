#include "fleet/fleet_names.h"

#include "absl/strings/str_cat.h"

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

std::string DomainKey(absl::string_view host, absl::string_view uuid) {
  return absl::StrCat(host, ".", uuid);
}

std::string EventsSubject(absl::string_view host) {
  return absl::StrCat(kEventsSubjectPrefix, host);
}

std::string HostDomainsFilter(absl::string_view host) {
  return absl::StrCat(host, ".>");
}

std::optional<DomainKeyParts> ParseDomainKey(absl::string_view key) {
  const size_t dot = key.find('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 == key.size() ||
      key.find('.', dot + 1) != absl::string_view::npos) {
    return std::nullopt;
  }
  DomainKeyParts parts{std::string(key.substr(0, dot)),
                       std::string(key.substr(dot + 1))};
  if (!ValidateHostId(parts.host).ok()) return std::nullopt;
  return parts;
}

}  // namespace xenlet::fleet

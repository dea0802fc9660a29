#include "agent/request_validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "agent/field_mask.h"
#include "agent/page_token.h"
#include "google/protobuf/duration.pb.h"
#include "store/uuid.h"
#include "xen/types.h"

namespace xenlet::agent {
namespace {

using google::protobuf::RepeatedPtrField;

absl::Status Invalid(const std::string& field, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", std::string(problem)));
}

std::string Indexed(std::string_view field, int i) {
  return absl::StrCat(std::string(field), "[", i, "]");
}

absl::Status ValidateDomid(uint32_t domid, const std::string& field) {
  if (domid > xen::kMaxDomid) {
    return Invalid(field, absl::StrCat(domid, " is not a domid (0..",
                                       xen::kMaxDomid, ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateUuid(const std::string& uuid, const std::string& field) {
  if (!store::CanonicalUuid(uuid)) {
    return Invalid(field, absl::StrCat("\"", uuid,
                                       "\" is not a UUID (32 hex digits, "
                                       "optionally 8-4-4-4-12 with dashes)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSelector(const v1::DomainSelector& selector,
                              const std::string& field) {
  if (!selector.expect_uuid().empty()) {
    if (selector.selector_case() != v1::DomainSelector::kDomid) {
      return Invalid(field + ".expect_uuid", "goes with a domid selector");
    }
    if (auto s = ValidateUuid(selector.expect_uuid(), field + ".expect_uuid");
        !s.ok()) {
      return s;
    }
  }
  switch (selector.selector_case()) {
    case v1::DomainSelector::kDomid:
      return ValidateDomid(selector.domid(), field + ".domid");
    case v1::DomainSelector::kUuid:
      return ValidateUuid(selector.uuid(), field + ".uuid");
    case v1::DomainSelector::kName:
      if (selector.name().empty()) return Invalid(field + ".name", "is empty");
      return absl::OkStatus();
    case v1::DomainSelector::SELECTOR_NOT_SET:
      break;
  }
  return Invalid(field, "set one of domid, uuid or name");
}

absl::Status ValidateSelectors(
    const RepeatedPtrField<v1::DomainSelector>& selectors, int max) {
  if (selectors.empty()) return Invalid("selectors", "at least one is needed");
  if (selectors.size() > max) {
    return Invalid(
        "selectors",
        absl::StrCat(selectors.size(), " given, at most ", max, " per call"));
  }
  for (int i = 0; i < selectors.size(); ++i) {
    if (auto s = ValidateSelector(selectors[i], Indexed("selectors", i));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFilter(const v1::DomainFilter& filter,
                            const std::string& field) {
  for (int i = 0; i < filter.domids_size(); ++i) {
    if (auto s = ValidateDomid(filter.domids(i), Indexed(field + ".domids", i));
        !s.ok()) {
      return s;
    }
  }
  for (int i = 0; i < filter.uuids_size(); ++i) {
    if (auto s = ValidateUuid(filter.uuids(i), Indexed(field + ".uuids", i));
        !s.ok()) {
      return s;
    }
  }
  for (int i = 0; i < filter.states_size(); ++i) {
    int state = filter.states(i);
    if (state == v1::DOMAIN_STATE_UNSPECIFIED ||
        !v1::DomainState_IsValid(state)) {
      return Invalid(Indexed(field + ".states", i),
                     absl::StrCat(state, " is not a DomainState"));
    }
  }
  return absl::OkStatus();
}

// A zero duration means "default" (or "none") and is always allowed.
absl::Status ValidateDuration(const google::protobuf::Duration& d,
                              const std::string& field, int64_t min_seconds,
                              int64_t max_seconds) {
  if (d.seconds() == 0 && d.nanos() == 0) return absl::OkStatus();
  if (d.nanos() < 0 || d.nanos() > 999999999 || d.seconds() < 0) {
    return Invalid(field, "must not be negative");
  }
  double seconds = d.seconds() + d.nanos() / 1e9;
  if (seconds < min_seconds || seconds > max_seconds) {
    return Invalid(field,
                   absl::StrCat("must be 0 (default) or between ", min_seconds,
                                "s and ", max_seconds, "s"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateListDomains(const v1::ListDomainsRequest& request) {
  if (auto s = ValidateFilter(request.filter(), "filter"); !s.ok()) return s;
  if (auto s = ValidateDomainMask(request.read_mask(), "read_mask"); !s.ok()) {
    return s;
  }
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    return Invalid(
        "page_size",
        absl::StrCat(request.page_size(), " is out of range (0..", kMaxPageSize,
                     "; 0 means ", kDefaultPageSize, ")"));
  }
  if (!request.page_token().empty()) {
    if (auto token = DecodePageToken(request.page_token()); !token.ok()) {
      return token.status();
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGetDomains(const v1::GetDomainsRequest& request) {
  if (auto s = ValidateSelectors(request.selectors(), kMaxGetSelectors);
      !s.ok()) {
    return s;
  }
  return ValidateDomainMask(request.read_mask(), "read_mask");
}

absl::Status ValidateWatchDomains(const v1::WatchDomainsRequest& request) {
  if (request.has_resume()) {
    if (request.resume().instance_id().empty()) {
      return Invalid("resume.instance_id",
                     "is required to resume (take it from any event)");
    }
  }
  if (auto s = ValidateFilter(request.filter(), "filter"); !s.ok()) return s;
  for (int i = 0; i < request.event_types_size(); ++i) {
    int type = request.event_types(i);
    if (type != v1::EVENT_TYPE_ADDED && type != v1::EVENT_TYPE_MODIFIED &&
        type != v1::EVENT_TYPE_DELETED && type != v1::EVENT_TYPE_STATS) {
      return Invalid(Indexed("event_types", i),
                     absl::StrCat(type,
                                  " cannot be selected (ADDED, MODIFIED, "
                                  "DELETED or STATS)"));
    }
  }
  if (auto s = ValidateDomainMask(request.read_mask(), "read_mask"); !s.ok()) {
    return s;
  }
  if (auto s = ValidateDuration(request.bookmark_interval(),
                                "bookmark_interval", 1, 3600);
      !s.ok()) {
    return s;
  }
  return ValidateDuration(request.stats_interval(), "stats_interval", 1, 3600);
}

absl::Status ValidateXenstorePath(std::string_view path,
                                  std::string_view field_name) {
  const std::string field(field_name);
  if (path.empty() || path[0] != '/') {
    return Invalid(field, "must be an absolute path (start with /)");
  }
  if (path.size() > kMaxXenstorePathLength) {
    return Invalid(field, absl::StrCat("longer than ", kMaxXenstorePathLength,
                                       " characters"));
  }
  if (path.size() > 1 && path.back() == '/') {
    return Invalid(field, "must not end with /");
  }
  if (path.find("//") != std::string_view::npos) {
    return Invalid(field, "has an empty component (//)");
  }
  for (char c : path) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '/' || c == '-' || c == '_' ||
              c == '@';
    if (!ok) {
      return Invalid(field, "may only contain letters, digits and / - _ @");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateReadXenstore(const v1::ReadXenstoreRequest& request) {
  if (request.paths().empty()) return Invalid("paths", "at least one needed");
  if (request.paths_size() > kMaxXenstorePaths) {
    return Invalid("paths",
                   absl::StrCat(request.paths_size(), " given, at most ",
                                kMaxXenstorePaths, " per call"));
  }
  for (int i = 0; i < request.paths_size(); ++i) {
    if (auto s = ValidateXenstorePath(request.paths(i), Indexed("paths", i));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// A control request's selectors and request_id.
template <typename Request>
absl::Status ValidateControl(const Request& request) {
  const std::string& id = request.request_id();
  if (id.size() > 128) {
    return Invalid("request_id",
                   absl::StrCat(id.size(), " characters, at most 128"));
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return Invalid("request_id", "printable ASCII only, no spaces");
    }
  }
  return ValidateSelectors(request.selectors(), kMaxControlSelectors);
}

absl::Status ValidatePauseDomains(const v1::PauseDomainsRequest& request) {
  return ValidateControl(request);
}

absl::Status ValidateUnpauseDomains(const v1::UnpauseDomainsRequest& request) {
  return ValidateControl(request);
}

absl::Status ValidateDestroyDomains(const v1::DestroyDomainsRequest& request) {
  return ValidateControl(request);
}

absl::Status ValidateShutdownDomains(
    const v1::ShutdownDomainsRequest& request) {
  if (auto s = ValidateControl(request); !s.ok()) return s;
  if (!v1::ShutdownMode_IsValid(request.mode())) {
    return Invalid("mode",
                   absl::StrCat(request.mode(), " is not a ShutdownMode"));
  }
  if (request.mode() == v1::SHUTDOWN_MODE_SOFT_RESET) {
    return Invalid("mode",
                   "SOFT_RESET is a guest's own doing (kexec); a toolstack "
                   "asks only for poweroff, reboot or suspend");
  }
  const auto& timeout = request.timeout();
  if (timeout.seconds() < 0 || timeout.nanos() < 0 ||
      timeout.nanos() > 999999999) {
    return Invalid("timeout", "must not be negative");
  }
  if (timeout.seconds() > 600 ||
      (timeout.seconds() == 600 && timeout.nanos() > 0)) {
    return Invalid("timeout", "must be at most 600s");
  }
  if (request.has_timeout() && timeout.seconds() == 0 && timeout.nanos() == 0 &&
      !request.force()) {
    return Invalid("timeout",
                   "0 asks the guest nothing: set force to shut down "
                   "through the hypervisor at once");
  }
  return absl::OkStatus();
}

}  // namespace xenlet::agent

#include "tools/xenletctl/selectors.h"

#include <cctype>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/field_mask_util.h"
#include "tools/xenletctl/domain_format.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::DomainFilter;
using xenlet::v1::DomainSelector;
using xenlet::v1::EventType;

bool AllDigits(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool LooksLikeUuid(const std::string& text) {
  if (text.size() == 32) {
    for (char c : text) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
  }
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-'
             : !std::isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

std::string Lower(std::string text) {
  for (char& c : text) c = std::tolower(static_cast<unsigned char>(c));
  return text;
}

}  // namespace

absl::StatusOr<uint32_t> ParseDomid(const std::string& text,
                                    const std::string& flag) {
  // Digits only, at most 5 of them: no sign, no overflow in stoul.
  if (!AllDigits(text) || text.size() > 5 || std::stoul(text) > kMaxDomid) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": '", text, "' is not a domain id (0..", kMaxDomid, ")"));
  }
  return static_cast<uint32_t>(std::stoul(text));
}

absl::StatusOr<std::string> ParseUuid(const std::string& text,
                                      const std::string& flag) {
  if (!LooksLikeUuid(text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": '", text,
        "' is not a UUID (32 hex digits, optionally dashed 8-4-4-4-12)"));
  }
  std::string hex;
  for (char c : text) {
    if (c != '-') hex.push_back(std::tolower(static_cast<unsigned char>(c)));
  }
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

absl::StatusOr<DomainSelector> ParseSelector(const std::string& text) {
  DomainSelector selector;
  absl::string_view rest(text);
  if (absl::ConsumePrefix(&rest, "name:")) {
    if (rest.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("selector '", text, "': empty name"));
    }
    selector.set_name(std::string(rest));
    return selector;
  }
  const std::string flag = absl::StrCat("selector '", text, "'");
  if (absl::ConsumePrefix(&rest, "domid:") || AllDigits(text)) {
    absl::StatusOr<uint32_t> domid = ParseDomid(std::string(rest), flag);
    if (!domid.ok()) return domid.status();
    selector.set_domid(*domid);
    return selector;
  }
  if (absl::ConsumePrefix(&rest, "uuid:") || LooksLikeUuid(text)) {
    absl::StatusOr<std::string> uuid = ParseUuid(std::string(rest), flag);
    if (!uuid.ok()) return uuid.status();
    selector.set_uuid(*uuid);
    return selector;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      flag, ": not a domid (0..", kMaxDomid, "), a UUID or name:NAME"));
}

std::string SelectorToString(const DomainSelector& selector) {
  switch (selector.selector_case()) {
    case DomainSelector::kDomid:
      return std::to_string(selector.domid());
    case DomainSelector::kUuid:
      return selector.uuid();
    case DomainSelector::kName:
      return absl::StrCat("name:", selector.name());
    default:
      return "-";
  }
}

absl::StatusOr<DomainFilter> BuildFilter(const FilterFlags& flags) {
  DomainFilter filter;
  for (const std::string& text : flags.domids) {
    absl::StatusOr<uint32_t> domid = ParseDomid(text, "--domid");
    if (!domid.ok()) return domid.status();
    filter.add_domids(*domid);
  }
  for (const std::string& text : flags.uuids) {
    absl::StatusOr<std::string> uuid = ParseUuid(text, "--uuid");
    if (!uuid.ok()) return uuid.status();
    filter.add_uuids(*uuid);
  }
  filter.set_name_prefix(flags.name_prefix);
  for (const std::string& text : flags.states) {
    absl::StatusOr<xenlet::v1::DomainState> state = ParseStateName(text);
    if (!state.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--state: ", std::string(state.status().message())));
    }
    filter.add_states(*state);
  }
  return filter;
}

absl::StatusOr<google::protobuf::FieldMask> ParseFieldMask(
    const std::vector<std::string>& fields) {
  google::protobuf::FieldMask mask;
  for (const std::string& list : fields) {
    for (absl::string_view piece : absl::StrSplit(list, ',')) {
      std::string path(absl::StripAsciiWhitespace(piece));
      if (path.empty()) continue;
      if (!google::protobuf::util::FieldMaskUtil::GetFieldDescriptors(
              xenlet::v1::Domain::descriptor(), path, nullptr)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--fields: '", path,
            "' is not a field of xenlet.v1.Domain (use proto names, e.g. "
            "domid,name,memory.current_bytes)"));
      }
      mask.add_paths(path);
    }
  }
  return mask;
}

absl::StatusOr<xenlet::v1::ResumePoint> ParseResumePoint(
    const std::string& text) {
  size_t colon = text.rfind(':');
  std::string revision =
      colon == std::string::npos ? "" : text.substr(colon + 1);
  // At most 19 digits: fits in uint64 without overflow checks.
  if (colon == 0 || colon == std::string::npos || !AllDigits(revision) ||
      revision.size() > 19) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resume: '", text,
                     "' is not INSTANCE:REVISION (e.g. from the "
                     "snapshot of list --json)"));
  }
  xenlet::v1::ResumePoint point;
  point.set_instance_id(text.substr(0, colon));
  point.set_revision(std::stoull(revision));
  return point;
}

absl::StatusOr<EventType> ParseEventType(const std::string& text) {
  std::string name = Lower(text);
  absl::string_view rest(name);
  absl::ConsumePrefix(&rest, "event_type_");
  if (rest == "added") return xenlet::v1::EVENT_TYPE_ADDED;
  if (rest == "modified") return xenlet::v1::EVENT_TYPE_MODIFIED;
  if (rest == "deleted") return xenlet::v1::EVENT_TYPE_DELETED;
  if (rest == "stats") return xenlet::v1::EVENT_TYPE_STATS;
  // SYNCED, BOOKMARK and RESYNC_REQUIRED are always sent: not selectable.
  return absl::InvalidArgumentError(
      absl::StrCat("--event-type: '", text,
                   "' is not one of added, modified, deleted, stats"));
}

}  // namespace xenlet::ctl

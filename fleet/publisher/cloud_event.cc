#include "fleet/publisher/cloud_event.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/json_string.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace xenlet::fleet {
namespace {

std::string Lower(const std::string& name, absl::string_view prefix) {
  absl::string_view rest = name;
  if (rest.substr(0, prefix.size()) == prefix)
    rest.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(rest);
}

void AppendField(std::string* out, absl::string_view key,
                 absl::string_view value) {
  out->push_back(',');
  AppendJsonString(out, std::string_view(key.data(), key.size()));
  out->push_back(':');
  AppendJsonString(out, std::string_view(value.data(), value.size()));
}

}  // namespace

std::string EventId(absl::string_view instance_id, uint64_t revision) {
  return absl::StrCat(instance_id, ":", revision);
}

std::string EventTypeName(const xenlet::v1::WatchDomainsResponse& event) {
  if (event.transition() != xenlet::v1::TRANSITION_UNSPECIFIED) {
    return absl::StrCat(
        "io.xenlet.domain.",
        Lower(xenlet::v1::Transition_Name(event.transition()), "TRANSITION_"));
  }
  return absl::StrCat(
      "io.xenlet.domain.",
      Lower(xenlet::v1::EventType_Name(event.type()), "EVENT_TYPE_"));
}

absl::StatusOr<std::string> FormatCloudEvent(
    absl::string_view host, const xenlet::v1::WatchDomainsResponse& event) {
  if (event.type() != xenlet::v1::EVENT_TYPE_ADDED &&
      event.type() != xenlet::v1::EVENT_TYPE_MODIFIED &&
      event.type() != xenlet::v1::EVENT_TYPE_DELETED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a domain event: ", xenlet::v1::EventType_Name(event.type())));
  }
  std::string domain;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  if (auto s = google::protobuf::util::MessageToJsonString(event.domain(),
                                                           &domain, options);
      !s.ok()) {
    return absl::InternalError(
        absl::StrCat("domain to JSON: ", std::string(s.message())));
  }
  const std::string id = EventId(event.instance_id(), event.revision());
  std::string out = "{\"specversion\":\"1.0\"";
  AppendField(&out, "id", id);
  AppendField(&out, "source", absl::StrCat("xenlet://", host));
  AppendField(&out, "type", EventTypeName(event));
  AppendField(&out, "subject", event.domain().uuid());
  if (event.has_detected_time()) {
    AppendField(
        &out, "time",
        google::protobuf::util::TimeUtil::ToString(event.detected_time()));
  }
  AppendField(&out, "datacontenttype", "application/json");
  AppendField(&out, "xenletinstance", event.instance_id());
  AppendField(&out, "xenletrevision", absl::StrCat(event.revision()));
  out += ",\"data\":{";
  out += "\"eventType\":";
  AppendJsonString(&out, xenlet::v1::EventType_Name(event.type()));
  AppendField(&out, "transition",
              xenlet::v1::Transition_Name(event.transition()));
  absl::StrAppend(&out,
                  ",\"coalesced\":", event.coalesced() ? "true" : "false");
  AppendField(&out, "initiator", event.initiator());
  absl::StrAppend(&out, ",\"domain\":", domain, "}}");
  return out;
}

}  // namespace xenlet::fleet

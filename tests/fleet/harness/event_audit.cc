#include "tests/fleet/harness/event_audit.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "fleet/fleet_names.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace xenlet::fleet::harness {
namespace {

std::string Field(const google::protobuf::Struct& event,
                  const std::string& name) {
  auto it = event.fields().find(name);
  return it == event.fields().end() ? "" : it->second.string_value();
}

}  // namespace

EventAudit AuditEvents(const std::vector<nats::StoredMessage>& messages) {
  EventAudit audit;
  std::map<std::string, uint64_t> seen;  // message id -> first sequence
  const std::string subject_prefix = EventsSubject("");
  for (const nats::StoredMessage& m : messages) {
    ++audit.messages;
    const std::string at = absl::StrCat(" (sequence ", m.sequence, ")");
    auto [first, inserted] = seen.emplace(m.msg_id, m.sequence);
    if (!inserted) {
      audit.problems.push_back(
          absl::StrCat("message id ", m.msg_id, " stored twice: sequences ",
                       first->second, " and ", m.sequence));
      continue;
    }
    const std::optional<MessageIdParts> id = ParseMessageId(m.msg_id);
    if (!id) {
      audit.problems.push_back(
          absl::StrCat("bad message id \"", m.msg_id, "\"", at));
      continue;
    }
    if (m.subject != EventsSubject(id->host)) {
      audit.problems.push_back(
          absl::StrCat("message id ", m.msg_id, " on subject ", m.subject, at));
    }
    google::protobuf::Struct event;
    if (!google::protobuf::util::JsonStringToMessage(m.data, &event).ok()) {
      audit.problems.push_back(absl::StrCat("not JSON", at));
      continue;
    }
    uint64_t revision = 0;
    if (Field(event, "specversion") != "1.0" ||
        Field(event, "source") != "xenlet://" + id->host ||
        Field(event, "id") !=
            absl::StrCat(id->instance_id, ":", id->revision) ||
        Field(event, "xenletinstance") != id->instance_id ||
        !absl::SimpleAtoi(Field(event, "xenletrevision"), &revision) ||
        revision != id->revision) {
      audit.problems.push_back(absl::StrCat(
          "the CloudEvent does not match its message id ", m.msg_id, at));
      continue;
    }
    ++audit.types[Field(event, "type")];
    auto [run, is_new] =
        audit.hosts[id->host].try_emplace(id->instance_id, InstanceRun{});
    InstanceRun& r = run->second;
    if (is_new) {
      r.first = id->revision;
      r.first_sequence = m.sequence;
    } else if (id->revision != r.last + 1) {
      r.gaps.push_back(absl::StrCat(id->revision, " after ", r.last));
    }
    r.last = id->revision;
    ++r.events;
  }
  return audit;
}

}  // namespace xenlet::fleet::harness

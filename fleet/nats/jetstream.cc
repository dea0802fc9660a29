#include "fleet/nats/jetstream.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fleet/nats/nats_ptr.h"
#include "fleet/nats/nats_status.h"

namespace xenlet::fleet::nats {
namespace {

constexpr char kMsgIdHeader[] = "Nats-Msg-Id";

int64_t Millis(absl::Duration d) {
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(d));
}

std::vector<std::string> SortedSubjects(const char** subjects, int count) {
  std::vector<std::string> out(subjects, subjects + std::max(0, count));
  std::sort(out.begin(), out.end());
  return out;
}

// How the stream's configuration differs from `want`, one entry a field
// ("replicas 1 -> 3"); empty if it does not.
std::vector<std::string> Differences(const jsStreamConfig& have,
                                     const StreamConfig& want) {
  std::vector<std::string> diffs;
  std::vector<std::string> have_subjects =
      SortedSubjects(have.Subjects, have.SubjectsLen);
  std::vector<std::string> want_subjects = want.subjects;
  std::sort(want_subjects.begin(), want_subjects.end());
  if (have_subjects != want_subjects) {
    diffs.push_back(absl::StrCat("subjects [",
                                 absl::StrJoin(have_subjects, ","), "] -> [",
                                 absl::StrJoin(want_subjects, ","), "]"));
  }
  if (have.Replicas != want.replicas) {
    diffs.push_back(
        absl::StrCat("replicas ", have.Replicas, " -> ", want.replicas));
  }
  int64_t want_duplicates = absl::ToInt64Nanoseconds(want.duplicates_window);
  if (want_duplicates != 0 && have.Duplicates != want_duplicates) {
    diffs.push_back(
        absl::StrCat("duplicates window ",
                     absl::FormatDuration(absl::Nanoseconds(have.Duplicates)),
                     " -> ", absl::FormatDuration(want.duplicates_window)));
  }
  if (have.MaxAge != absl::ToInt64Nanoseconds(want.max_age)) {
    diffs.push_back(absl::StrCat(
        "max age ", absl::FormatDuration(absl::Nanoseconds(have.MaxAge)),
        " -> ", absl::FormatDuration(want.max_age)));
  }
  if (have.MaxBytes != want.max_bytes) {
    diffs.push_back(
        absl::StrCat("max bytes ", have.MaxBytes, " -> ", want.max_bytes));
  }
  return diffs;
}

// Sets the fields StreamConfig has; `subjects` must outlive `cfg`.
void Apply(const StreamConfig& want, const std::vector<const char*>& subjects,
           jsStreamConfig& cfg) {
  cfg.Name = want.name.c_str();
  cfg.Subjects = const_cast<const char**>(subjects.data());
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Replicas = want.replicas;
  // Zero: the server's default on a new stream, the current window on an
  // existing one.
  if (want.duplicates_window > absl::ZeroDuration()) {
    cfg.Duplicates = absl::ToInt64Nanoseconds(want.duplicates_window);
  }
  cfg.MaxAge = absl::ToInt64Nanoseconds(want.max_age);
  cfg.MaxBytes = want.max_bytes;
}

// A stored message's fields; `sequence` and `time` are the caller's.
StoredMessage FromMsg(natsMsg* msg) {
  StoredMessage stored;
  stored.subject = natsMsg_GetSubject(msg);
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, kMsgIdHeader, &id) == NATS_OK && id != nullptr) {
    stored.msg_id = id;
  }
  if (natsMsg_GetDataLength(msg) > 0) {
    stored.data.assign(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  }
  return stored;
}

// Deletes the subscription's consumer (Unsubscribe) before freeing it.
struct Unsubscriber {
  void operator()(natsSubscription* sub) const {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
};

}  // namespace

absl::string_view StreamChangeName(StreamChange change) {
  switch (change) {
    case StreamChange::kCreated:
      return "created";
    case StreamChange::kUpdated:
      return "updated";
    case StreamChange::kUnchanged:
      return "unchanged";
  }
  return "?";
}

absl::StatusOr<StreamChange> EnsureStream(Connection& conn,
                                          const StreamConfig& config) {
  if (config.name.empty() || config.subjects.empty()) {
    return absl::InvalidArgumentError(
        "nats: a stream needs a name and subjects");
  }
  std::vector<const char*> subjects;
  for (const std::string& subject : config.subjects) {
    subjects.push_back(subject.c_str());
  }

  // Twice at most: another client may create the stream between our look
  // and our create (the server takes an identical config twice, but not a
  // different one: then we update it).
  for (int attempt = 0;; ++attempt) {
    jsStreamInfo* raw_info = nullptr;
    jsErrCode js_error = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&raw_info, conn.jetstream(),
                                    config.name.c_str(), nullptr, &js_error);
    StreamInfoPtr info(raw_info);
    if (s == NATS_NOT_FOUND || js_error == JSStreamNotFoundErr) {
      jsStreamConfig cfg;
      jsStreamConfig_Init(&cfg);
      Apply(config, subjects, cfg);
      js_error = static_cast<jsErrCode>(0);
      s = js_AddStream(nullptr, conn.jetstream(), &cfg, nullptr, &js_error);
      if (s == NATS_OK) return StreamChange::kCreated;
      if (js_error == JSStreamNameExistErr && attempt == 0) continue;
      return NatsError(s, absl::StrCat("js_AddStream ", config.name), js_error);
    }
    if (s != NATS_OK) {
      return NatsError(s, absl::StrCat("js_GetStreamInfo ", config.name),
                       js_error);
    }

    std::vector<std::string> diffs = Differences(*info->Config, config);
    if (diffs.empty()) return StreamChange::kUnchanged;
    // Start from the stream's own configuration, so that what StreamConfig
    // does not cover (storage, retention, limits set by hand) stays.
    jsStreamConfig cfg = *info->Config;
    Apply(config, subjects, cfg);
    s = js_UpdateStream(nullptr, conn.jetstream(), &cfg, nullptr, &js_error);
    if (s != NATS_OK) {
      return NatsError(s, absl::StrCat("js_UpdateStream ", config.name),
                       js_error, absl::StrJoin(diffs, ", "));
    }
    return StreamChange::kUpdated;
  }
}

absl::StatusOr<PublishAck> Publish(Connection& conn, const std::string& subject,
                                   const std::string& msg_id,
                                   absl::string_view payload,
                                   absl::Duration max_wait) {
  const std::string operation = absl::StrCat("js_Publish to ", subject);
  if (payload.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "nats: ", operation, ": payload of ", payload.size(), " bytes"));
  }
  if (!conn.ConnectedNow()) {
    return absl::UnavailableError(absl::StrCat(
        "nats: ", operation,
        ": not connected (reconnecting; not queuing the message for later)"));
  }
  if (max_wait <= absl::ZeroDuration()) {
    max_wait = conn.options().jetstream_timeout;
  }
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = Millis(max_wait);
  if (!msg_id.empty()) options.MsgId = msg_id.c_str();

  jsPubAck* raw_ack = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus s =
      js_Publish(&raw_ack, conn.jetstream(), subject.c_str(), payload.data(),
                 static_cast<int>(payload.size()), &options, &js_error);
  PubAckPtr ack(raw_ack);
  if (s != NATS_OK) {
    std::string detail;
    if (s == NATS_TIMEOUT) {
      detail = absl::StrCat("no JetStream answer in ",
                            absl::FormatDuration(max_wait));
    } else if (s == NATS_NO_RESPONDERS) {
      detail =
          "no stream answered: none takes this subject, JetStream is off, "
          "or the stream has no leader now (an election, a lost quorum)";
    }
    return NatsError(s, operation, js_error, detail);
  }
  PublishAck out;
  if (ack->Stream != nullptr) out.stream = ack->Stream;
  out.sequence = ack->Sequence;
  out.duplicate = ack->Duplicate;
  return out;
}

absl::StatusOr<StreamState> GetStreamState(Connection& conn,
                                           const std::string& stream) {
  jsStreamInfo* raw_info = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw_info, conn.jetstream(), stream.c_str(),
                                  nullptr, &js_error);
  StreamInfoPtr info(raw_info);
  if (s != NATS_OK) {
    return NatsError(s, absl::StrCat("js_GetStreamInfo ", stream), js_error);
  }
  StreamState state;
  state.messages = info->State.Msgs;
  state.bytes = info->State.Bytes;
  state.first_sequence = info->State.FirstSeq;
  state.last_sequence = info->State.LastSeq;
  if (info->Cluster != nullptr && info->Cluster->Leader != nullptr) {
    state.leader = info->Cluster->Leader;
  }
  return state;
}

absl::StatusOr<std::optional<StoredMessage>> LastMessage(
    Connection& conn, const std::string& stream, const std::string& subject) {
  natsMsg* raw_msg = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&raw_msg, conn.jetstream(), stream.c_str(),
                               subject.c_str(), nullptr, &js_error);
  MsgPtr msg(raw_msg);
  if (s == NATS_NOT_FOUND && js_error != JSStreamNotFoundErr) {
    return std::nullopt;  // the stream has no message on the subject
  }
  if (s != NATS_OK) {
    return NatsError(s, absl::StrCat("js_GetLastMsg ", stream, " ", subject),
                     js_error);
  }
  StoredMessage stored = FromMsg(msg.get());
  stored.sequence = natsMsg_GetSequence(msg.get());
  stored.time = absl::FromUnixNanos(natsMsg_GetTime(msg.get()));
  return stored;
}

absl::StatusOr<std::vector<StoredMessage>> ReadAll(
    Connection& conn, const std::string& stream,
    const std::string& subject_filter, size_t max_messages) {
  const std::string operation =
      absl::StrCat("read ", stream, " (", subject_filter, ")");
  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  sub_options.Stream = stream.c_str();
  sub_options.Ordered = true;
  sub_options.Config.DeliverPolicy = js_DeliverAll;

  natsSubscription* raw_sub = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus s =
      js_SubscribeSync(&raw_sub, conn.jetstream(), subject_filter.c_str(),
                       nullptr, &sub_options, &js_error);
  std::unique_ptr<natsSubscription, Unsubscriber> sub(raw_sub);
  if (s != NATS_OK) {
    return NatsError(s, absl::StrCat(operation, ": js_SubscribeSync"),
                     js_error);
  }

  // Each message says how many more the consumer has for it (NumPending),
  // so the last one ends the read; only an empty stream needs asking.
  jsConsumerInfo* raw_info = nullptr;
  s = natsSubscription_GetConsumerInfo(&raw_info, sub.get(), nullptr,
                                       &js_error);
  ConsumerInfoPtr info(raw_info);
  if (s != NATS_OK) {
    return NatsError(s, absl::StrCat(operation, ": consumer info"), js_error);
  }
  std::vector<StoredMessage> out;
  if (info->NumPending == 0 && info->Delivered.Consumer == 0) return out;

  const absl::Duration wait = conn.options().jetstream_timeout;
  while (true) {
    natsMsg* raw_msg = nullptr;
    s = natsSubscription_NextMsg(&raw_msg, sub.get(), Millis(wait));
    MsgPtr msg(raw_msg);
    if (s != NATS_OK) {
      return NatsError(
          s, absl::StrCat(operation, ": next message"),
          static_cast<jsErrCode>(0),
          s == NATS_TIMEOUT
              ? absl::StrCat("none in ", absl::FormatDuration(wait), " after ",
                             out.size())
              : "");
    }
    jsMsgMetaData* raw_meta = nullptr;
    s = natsMsg_GetMetaData(&raw_meta, msg.get());
    MsgMetaDataPtr meta(raw_meta);
    if (s != NATS_OK) {
      return NatsError(s, absl::StrCat(operation, ": message metadata"));
    }
    StoredMessage& stored = out.emplace_back(FromMsg(msg.get()));
    stored.sequence = meta->Sequence.Stream;
    stored.time = absl::FromUnixNanos(meta->Timestamp);
    if (meta->NumPending == 0) break;
    if (out.size() >= max_messages) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "nats: ", operation, ": more than ", max_messages, " messages (",
          meta->NumPending, " more after sequence ", stored.sequence, ")"));
    }
  }
  return out;
}

}  // namespace xenlet::fleet::nats

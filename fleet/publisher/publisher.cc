#include "fleet/publisher/publisher.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "fleet/fleet_names.h"
#include "fleet/publisher/cloud_event.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace xenlet::fleet {
namespace {

using fleet::v1::HostHealth;
using google::protobuf::util::TimeUtil;

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  // Only fails for messages that cannot be JSON (none of ours).
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

xenlet::v1::ResumePoint Point(const std::string& instance_id,
                              uint64_t revision) {
  xenlet::v1::ResumePoint point;
  point.set_instance_id(instance_id);
  point.set_revision(revision);
  return point;
}

}  // namespace

Publisher::Publisher(PublisherOptions options,
                     std::shared_ptr<grpc::Channel> agent, FleetSink* sink)
    : options_(std::move(options)),
      agent_(xenlet::v1::DomainService::NewStub(agent)),
      sink_(sink),
      subject_(EventsSubject(options_.host)) {}

absl::Status Publisher::Run() {
  absl::Duration delay = options_.backoff_initial;
  while (true) {
    const absl::Time start = absl::Now();
    const SessionEnd end = Session();
    if (end == SessionEnd::kStopped) break;
    if (end == SessionEnd::kConflict) {
      // No last health either: the key is the other publisher's now.
      LogError("publish_conflict",
               {{"host", options_.host}, {"error", conflict_.ToString()}});
      return conflict_;
    }
    if (end == SessionEnd::kReopen) continue;  // at once, from resume_
    if (end == SessionEnd::kAgentFailed && recovered_) {
      // Say so in the health (best effort: the sink may be down too).
      (void)WriteHealth(HostHealth::STATE_AGENT_UNREACHABLE);
    }
    {
      // A session that heard from the agent starts the backoff over.
      absl::MutexLock lock(&mutex_);
      if (stats_.last_heard > start) delay = options_.backoff_initial;
    }
    if (!Backoff(&delay)) break;
  }
  if (recovered_) {
    if (auto s = WriteHealth(HostHealth::STATE_STOPPED); !s.ok()) {
      LogWarning("publish_health_failed", {{"error", s.ToString()}});
    }
  }
  return absl::OkStatus();
}

void Publisher::Stop() {
  absl::MutexLock lock(&mutex_);
  stopping_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

PublisherStats Publisher::stats() const {
  absl::MutexLock lock(&mutex_);
  return stats_;
}

bool Publisher::Backoff(absl::Duration* delay) {
  absl::MutexLock lock(&mutex_);
  const bool stopped =
      mutex_.AwaitWithTimeout(absl::Condition(&stopping_), *delay);
  *delay = std::min(*delay * 2, options_.backoff_max);
  return !stopped;
}

void Publisher::SetState(HostHealth::State state) {
  absl::MutexLock lock(&mutex_);
  stats_.state = state;
}

Publisher::SessionEnd Publisher::SinkFailed(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAborted) {
    return SessionEnd::kSinkFailed;
  }
  conflict_ = status;
  return SessionEnd::kConflict;
}

Publisher::SessionEnd Publisher::Session() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return SessionEnd::kStopped;
    ++stats_.sessions;
  }
  if (absl::Status s = Recover(); !s.ok()) {
    LogWarning("publish_sink_failed",
               {{"host", options_.host}, {"error", s.ToString()}});
    absl::MutexLock lock(&mutex_);
    ++stats_.sink_failures;
    return SinkFailed(s);
  }

  xenlet::v1::WatchDomainsRequest request;
  request.set_resync_inline(true);
  request.mutable_bookmark_interval()->set_seconds(
      absl::ToInt64Seconds(options_.bookmark_interval));
  pending_.clear();
  reopen_ = false;
  if (resume_) {
    *request.mutable_resume() = *resume_;
    collecting_ = false;
  } else {
    request.set_initial_state(true);
    collecting_ = true;
  }

  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return SessionEnd::kStopped;
    context_ = &context;
  }
  auto reader = agent_->WatchDomains(&context, request);
  xenlet::v1::WatchDomainsResponse message;
  absl::Status sink_error;
  while (reader->Read(&message)) {
    {
      absl::MutexLock lock(&mutex_);
      stats_.last_heard = absl::Now();
    }
    sink_error = Handle(message);
    if (!sink_error.ok() || reopen_) {
      // Stop reading: the agent keeps the events in its log, and this
      // stream resumes from the last applied point once the sink answers.
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  absl::MutexLock lock(&mutex_);
  context_ = nullptr;
  if (stopping_) return SessionEnd::kStopped;
  if (sink_error.ok() && reopen_) return SessionEnd::kReopen;
  if (!sink_error.ok()) {
    ++stats_.sink_failures;
    LogWarning("publish_sink_failed",
               {{"host", options_.host}, {"error", sink_error.ToString()}});
    return SinkFailed(sink_error);
  }
  ++stats_.agent_failures;
  stats_.state = HostHealth::STATE_AGENT_UNREACHABLE;
  LogWarning("publish_agent_stream_ended",
             {{"host", options_.host},
              {"code", static_cast<int>(status.error_code())},
              {"error", status.error_message()}});
  return SessionEnd::kAgentFailed;
}

absl::Status Publisher::Recover() {
  auto last = sink_->LastEventId(subject_);
  if (!last.ok()) return last.status();
  if (last->has_value()) {
    if (auto id = ParseMessageId(**last); id && id->host == options_.host) {
      stored_ = Point(id->instance_id, id->revision);
    }
  }
  if (recovered_) return absl::OkStatus();

  auto health = sink_->GetHealth(options_.host);
  if (!health.ok()) return health.status();
  if (health->has_value()) {
    HostHealth h;
    if (google::protobuf::util::JsonStringToMessage(**health, &h).ok() &&
        !h.resume().instance_id().empty()) {
      resume_ = h.resume();
      absl::MutexLock lock(&mutex_);
      stats_.resyncs = h.resyncs_total();
    }
  }
  if (resume_) {
    // Resuming: which domain each domid's key is, as the sink holds them.
    auto held = sink_->Domains(HostDomainsFilter(options_.host));
    if (!held.ok()) return held.status();
    held_.clear();
    for (const auto& [key, value] : *held) {
      if (auto parts = ParseDomainKey(key)) held_[parts->domid] = key;
    }
  }
  recovered_ = true;
  LogInfo("publish_recovered",
          {{"host", options_.host},
           {"resume", resume_ ? absl::StrCat(resume_->instance_id(), ":",
                                             resume_->revision())
                              : std::string("none")},
           {"stored", stored_ ? absl::StrCat(stored_->instance_id(), ":",
                                             stored_->revision())
                              : std::string("none")},
           {"domains", static_cast<uint64_t>(held_.size())}});
  return absl::OkStatus();
}

absl::Status Publisher::Handle(
    const xenlet::v1::WatchDomainsResponse& message) {
  switch (message.type()) {
    case xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED: {
      LogWarning(
          "publish_resync",
          {{"host", options_.host},
           {"instance", message.instance_id()},
           {"reason", xenlet::v1::ResyncReason_Name(message.resync_reason())}});
      SetState(HostHealth::STATE_RESYNCING);
      if (!replaying_history_) {
        absl::MutexLock lock(&mutex_);
        ++stats_.resyncs;
      }
      if (message.resync_reason() ==
              xenlet::v1::RESYNC_REASON_INSTANCE_CHANGED &&
          !replaying_history_) {
        // A restarted agent: publish its whole history, from revision 0,
        // while its log still holds it. The replay may take several
        // sessions (a NATS failure in the middle); it ends at its SYNCED.
        resume_ = Point(message.instance_id(), 0);
        replaying_history_ = true;
        touched_.clear();
        reopen_ = true;
        return absl::OkStatus();
      }
      // The history is gone: the current state follows inline (ADDED...,
      // SYNCED), for the keys only.
      collecting_ = true;
      pending_.clear();
      return absl::OkStatus();
    }
    case xenlet::v1::EVENT_TYPE_ADDED:
      if (collecting_) {
        pending_[message.domain().domid()] = message.domain();
        return absl::OkStatus();
      }
      [[fallthrough]];
    case xenlet::v1::EVENT_TYPE_MODIFIED:
    case xenlet::v1::EVENT_TYPE_DELETED:
      if (absl::Status s = ApplyLive(message); !s.ok()) return s;
      break;
    case xenlet::v1::EVENT_TYPE_SYNCED:
      if (collecting_) {
        if (absl::Status s =
                ApplyState(message.instance_id(), message.revision());
            !s.ok()) {
          return s;
        }
        collecting_ = false;
        replaying_history_ = false;  // the snapshot replaced every key
      } else {
        if (replaying_history_) {
          // The new instance's history is applied: the keys of domains it
          // never mentioned were destroyed while the agent was down.
          if (absl::Status s = DropUntouched(); !s.ok()) return s;
          replaying_history_ = false;
        }
        resume_ = Point(message.instance_id(), message.revision());
      }
      SetState(HostHealth::STATE_LIVE);
      checkpoint_due_ = true;
      break;
    case xenlet::v1::EVENT_TYPE_BOOKMARK:
      if (!collecting_ && !replaying_history_) {
        resume_ = Point(message.instance_id(), message.revision());
        SetState(HostHealth::STATE_LIVE);
      }
      checkpoint_due_ = true;
      break;
    default:
      break;
  }
  {
    absl::MutexLock lock(&mutex_);
    if (resume_) {
      stats_.instance_id = resume_->instance_id();
      stats_.revision = resume_->revision();
    }
  }
  return MaybeCheckpoint();
}

absl::Status Publisher::ApplyLive(
    const xenlet::v1::WatchDomainsResponse& event) {
  if (event.coalesced()) {
    // Changes were folded together, a gap in the event stream: reopen from
    // the resume point instead; the log's replay goes event by event.
    reopen_ = true;
    return absl::OkStatus();
  }
  const std::string& instance = event.instance_id();
  const uint64_t revision = event.revision();
  const bool already_stored = stored_ && stored_->instance_id() == instance &&
                              revision <= stored_->revision();
  if (already_stored) {
    absl::MutexLock lock(&mutex_);
    ++stats_.events_skipped;
  } else {
    auto payload = FormatCloudEvent(options_.host, event);
    if (!payload.ok()) return payload.status();
    auto stored = sink_->PublishEvent(
        subject_, MessageId(options_.host, instance, revision), *payload);
    if (!stored.ok()) return stored.status();
    stored_ = Point(instance, revision);
    absl::MutexLock lock(&mutex_);
    if (stored->duplicate) {
      ++stats_.events_duplicate;
    } else {
      ++stats_.events_published;
    }
    if (event.has_detected_time()) {
      stats_.last_lag =
          absl::Now() - absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(
                            event.detected_time()));
    }
  }

  const uint32_t domid = event.domain().domid();
  touched_.insert(domid);
  if (event.type() == xenlet::v1::EVENT_TYPE_DELETED) {
    auto it = held_.find(domid);
    const std::string key =
        it != held_.end()
            ? it->second
            : DomainKey(options_.host, event.domain().uuid(), domid);
    if (absl::Status s = sink_->DeleteDomain(key); !s.ok()) return s;
    held_.erase(domid);
    absl::MutexLock lock(&mutex_);
    ++stats_.domains_deleted;
  } else if (absl::Status s = PutDomain(event.domain()); !s.ok()) {
    return s;
  }
  resume_ = Point(instance, revision);
  checkpoint_due_ = true;
  return absl::OkStatus();
}

absl::Status Publisher::PutDomain(const xenlet::v1::Domain& domain) {
  const std::string key =
      DomainKey(options_.host, domain.uuid(), domain.domid());
  auto it = held_.find(domain.domid());
  if (it != held_.end() && it->second != key) {
    // The domid now names another domain: the old one's key goes.
    if (absl::Status s = sink_->DeleteDomain(it->second); !s.ok()) return s;
    absl::MutexLock lock(&mutex_);
    ++stats_.domains_deleted;
  }
  if (absl::Status s = sink_->PutDomain(key, ToJson(domain)); !s.ok()) {
    return s;
  }
  held_[domain.domid()] = key;
  absl::MutexLock lock(&mutex_);
  ++stats_.domains_put;
  return absl::OkStatus();
}

absl::Status Publisher::ApplyState(const std::string& instance_id,
                                   uint64_t revision) {
  auto current = sink_->Domains(HostDomainsFilter(options_.host));
  if (!current.ok()) return current.status();
  std::set<std::string> wanted;
  for (const auto& [domid, domain] : pending_) {
    wanted.insert(DomainKey(options_.host, domain.uuid(), domid));
  }
  uint64_t deleted = 0, put = 0;
  for (const auto& [key, value] : *current) {
    if (wanted.contains(key)) continue;
    if (absl::Status s = sink_->DeleteDomain(key); !s.ok()) return s;
    ++deleted;
  }
  held_.clear();
  for (const auto& [domid, domain] : pending_) {
    const std::string key = DomainKey(options_.host, domain.uuid(), domid);
    const std::string value = ToJson(domain);
    auto it = current->find(key);
    if (it == current->end() || it->second != value) {
      if (absl::Status s = sink_->PutDomain(key, value); !s.ok()) return s;
      ++put;
    }
    held_[domid] = key;
  }
  resume_ = Point(instance_id, revision);
  LogInfo("publish_state_applied",
          {{"host", options_.host},
           {"instance", instance_id},
           {"revision", revision},
           {"domains", static_cast<uint64_t>(pending_.size())},
           {"put", put},
           {"deleted", deleted}});
  pending_.clear();
  absl::MutexLock lock(&mutex_);
  stats_.domains_put += put;
  stats_.domains_deleted += deleted;
  return absl::OkStatus();
}

absl::Status Publisher::DropUntouched() {
  uint64_t deleted = 0;
  for (auto it = held_.begin(); it != held_.end();) {
    if (touched_.contains(it->first)) {
      ++it;
      continue;
    }
    if (absl::Status s = sink_->DeleteDomain(it->second); !s.ok()) return s;
    it = held_.erase(it);
    ++deleted;
  }
  LogInfo("publish_history_applied",
          {{"host", options_.host},
           {"domains", static_cast<uint64_t>(held_.size())},
           {"deleted", deleted}});
  absl::MutexLock lock(&mutex_);
  stats_.domains_deleted += deleted;
  return absl::OkStatus();
}

absl::Status Publisher::MaybeCheckpoint() {
  // Not in the middle of a state or a history: a publisher restarted then
  // must begin it again (from the old point, which the agent refuses), so
  // that the keys it has not reconciled yet are.
  if (!checkpoint_due_ || !resume_ || collecting_ || replaying_history_) {
    return absl::OkStatus();
  }
  const absl::Time now = absl::Now();
  if (now - last_checkpoint_ < options_.checkpoint_interval) {
    return absl::OkStatus();
  }
  HostHealth::State state;
  {
    absl::MutexLock lock(&mutex_);
    state = stats_.state;
  }
  if (absl::Status s = WriteHealth(state); !s.ok()) return s;
  last_checkpoint_ = now;
  checkpoint_due_ = false;
  return absl::OkStatus();
}

absl::Status Publisher::WriteHealth(HostHealth::State state) {
  HostHealth health;
  health.set_host(options_.host);
  health.set_state(state);
  if (resume_) *health.mutable_resume() = *resume_;
  {
    absl::MutexLock lock(&mutex_);
    if (stats_.last_heard != absl::InfinitePast()) {
      *health.mutable_last_heard() = ToProto(stats_.last_heard);
    }
    health.set_resyncs_total(stats_.resyncs);
    health.set_events_published_total(stats_.events_published);
  }
  *health.mutable_updated() = ToProto(absl::Now());
  health.set_publisher_version(options_.version);
  return sink_->PutHealth(options_.host, ToJson(health));
}

}  // namespace xenlet::fleet

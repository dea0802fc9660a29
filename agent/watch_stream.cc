#include "agent/watch_stream.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/field_mask.h"
#include "agent/shared_bytes.h"
#include "common/happens_before.h"
#include "google/protobuf/util/time_util.h"

namespace xenlet::agent {
namespace {

using google::protobuf::util::TimeUtil;

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

store::SubscriptionOptions MakeSubscriptionOptions(
    const v1::WatchDomainsRequest& request, size_t capacity) {
  store::SubscriptionOptions options;
  options.filter = store::DomainFilter(request.filter());
  for (int type : request.event_types()) {
    if (type != v1::EVENT_TYPE_STATS) options.event_types.insert(type);
  }
  // Only STATS selected: no domain events at all.
  if (options.event_types.empty() && request.event_types_size() > 0) {
    options.event_types.insert(v1::EVENT_TYPE_UNSPECIFIED);
  }
  options.capacity = capacity;
  return options;
}

bool Wants(const v1::WatchDomainsRequest& request, v1::EventType type) {
  if (request.event_types_size() == 0) return true;
  for (int t : request.event_types()) {
    if (t == type) return true;
  }
  return false;
}

}  // namespace

WatchStream::WatchStream(store::DomainStore* store,
                         const v1::WatchDomainsRequest& request,
                         const WatchSettings& settings, WatchCounters* counters,
                         std::function<void(WatchStream*)> on_done)
    : store_(store),
      request_(request),
      counters_(counters),
      mask_key_(absl::StrJoin(request.read_mask().paths(), ",")),
      on_done_(std::move(on_done)),
      on_event_sent_(settings.on_event_sent),
      bookmark_interval_(request.has_bookmark_interval() &&
                                 FromProto(request.bookmark_interval()) >
                                     absl::ZeroDuration()
                             ? FromProto(request.bookmark_interval())
                             : settings.default_bookmark_interval),
      // event_types, when given, must name STATS for STATS to be sent.
      stats_interval_(request.has_stats_interval() &&
                              Wants(request, v1::EVENT_TYPE_STATS)
                          ? FromProto(request.stats_interval())
                          : absl::ZeroDuration()),
      filter_(request.filter()) {
  store::WatchStart start;
  start.initial_state = request.initial_state();
  start.resume = request.has_resume();
  start.resume_instance = request.resume().instance_id();
  start.resume_revision = request.resume().revision();
  begin_ = store_->Watch(
      start, MakeSubscriptionOptions(request, settings.queue_capacity));
  absl::MutexLock lock(&mutex_);
  if (begin_.resync != v1::RESYNC_REASON_UNSPECIFIED) {
    phase_ = Phase::kResync;
  } else if (begin_.initial) {
    phase_ = Phase::kInitial;
  } else if (start.resume) {
    phase_ = Phase::kReplay;
  } else {
    phase_ = Phase::kLive;
  }
  last_write_ = absl::Now();
  next_stats_ = last_write_ + stats_interval_;
}

void WatchStream::Start() {
  // Everything the creating thread did is visible to gRPC's callbacks,
  // whether this first Pump writes or waits for an event.
  XENLET_HAPPENS_BEFORE(this);
  Pump();
}

void WatchStream::Marker(v1::EventType type, uint64_t revision) {
  message_.Clear();
  message_.set_type(type);
  message_.set_revision(revision);
  message_.set_instance_id(store_->instance_id());
}

void WatchStream::FillDomain(const v1::Domain& domain,
                             const store::VolatileView* volatiles) {
  *message_.mutable_domain() = domain;
  // A state from a snapshot (initial, STATS) is as fresh as its sweep; an
  // event's is the state it recorded.
  if (volatiles) volatiles->Merge(message_.mutable_domain());
  ApplyDomainMask(request_.read_mask(), message_.mutable_domain());
}

void WatchStream::FillEvent(const store::Event& event, v1::EventType type,
                            bool coalesced, bool merged) {
  // Everything in the message follows from the event and this form's name:
  // whichever stream encodes it first, the bytes are the same.
  const std::string form =
      absl::StrCat(static_cast<int>(type), coalesced ? "c" : "",
                   merged ? "m" : "", "|", mask_key_);
  encoded_ = event.encoded.Get(form, [&] {
    mutex_.AssertHeld();  // Get calls it at once, on this thread
    Marker(type, event.revision);
    FillDomain(*event.domain, nullptr);
    message_.set_transition(event.transition);
    // One that stands for several changes: whose is unclear.
    message_.set_initiator(merged ? "" : event.initiator);
    message_.set_coalesced(coalesced);
    *message_.mutable_detected_time() =
        TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(event.detected));
    if (counters_) ++counters_->events_encoded;
    return message_.SerializeAsString();
  });
  if (counters_) ++counters_->events_sent;
}

bool WatchStream::NextInitial() {
  const store::Snapshot& snapshot = *begin_.initial;
  const bool wanted = Wants(request_, v1::EVENT_TYPE_ADDED);
  bool found = false;
  if (wanted) {
    snapshot.domains.ForEachFrom(cursor_, [&](const store::DomainPtr& d) {
      mutex_.AssertHeld();  // ForEachFrom calls it on this thread
      cursor_ = d->domid() + 1;
      if (!filter_.Matches(*d)) return true;
      Marker(v1::EVENT_TYPE_ADDED, snapshot.revision);
      FillDomain(*d, &snapshot.volatiles);
      message_.set_transition(v1::TRANSITION_EXISTING);
      found = true;
      return false;
    });
  }
  if (found) return true;
  phase_ = Phase::kSynced;
  return Next();
}

bool WatchStream::NextReplay() {
  while (replay_index_ < begin_.replay.size()) {
    const store::EventPtr& event = begin_.replay[replay_index_++];
    v1::EventType type = begin_.subscription->EffectiveType(*event);
    if (type == v1::EVENT_TYPE_UNSPECIFIED) continue;
    FillEvent(*event, type, false, false);
    return true;
  }
  phase_ = Phase::kSynced;
  return Next();
}

bool WatchStream::NextStats() {
  if (!stats_snapshot_) return false;
  bool found = false;
  stats_snapshot_->domains.ForEachFrom(
      stats_cursor_, [&](const store::DomainPtr& d) {
        mutex_.AssertHeld();  // ForEachFrom calls it on this thread
        stats_cursor_ = d->domid() + 1;
        if (!filter_.Matches(*d)) return true;
        Marker(v1::EVENT_TYPE_STATS, stats_snapshot_->revision);
        FillDomain(*d, &stats_snapshot_->volatiles);
        found = true;
        return false;
      });
  if (!found) stats_snapshot_.reset();
  return found;
}

bool WatchStream::NextLive() {
  if (auto queued = begin_.subscription->Pop()) {
    if (!queued->event) {
      // A catch-up ended: the client has every change up to here, a point
      // to resume from (its coalesced events were not).
      Marker(v1::EVENT_TYPE_BOOKMARK, queued->bookmark);
      return true;
    }
    FillEvent(*queued->event, queued->type, queued->coalesced, queued->merged);
    if (on_event_sent_) on_event_sent_(absl::Now() - queued->event->detected);
    return true;
  }
  if (NextStats()) return true;
  if (bookmark_due_) {
    if (auto revision = store_->QuiescentRevision(*begin_.subscription)) {
      bookmark_due_ = false;
      Marker(v1::EVENT_TYPE_BOOKMARK, *revision);
      return true;
    }
    return NextLive();  // an event arrived meanwhile: send it first
  }
  return false;
}

bool WatchStream::Next() {
  switch (phase_) {
    case Phase::kResync:
      Marker(v1::EVENT_TYPE_RESYNC_REQUIRED, begin_.synced_revision);
      message_.set_resync_reason(begin_.resync);
      if (request_.resync_inline()) {
        phase_ = Phase::kInitial;
      } else {
        phase_ = Phase::kEnding;
        end_status_ = grpc::Status::OK;
      }
      return true;
    case Phase::kInitial:
      return NextInitial();
    case Phase::kReplay:
      return NextReplay();
    case Phase::kSynced:
      Marker(v1::EVENT_TYPE_SYNCED, begin_.synced_revision);
      phase_ = Phase::kLive;
      return true;
    case Phase::kLive:
      return NextLive();
    case Phase::kEnding:
      return false;
  }
  return false;
}

void WatchStream::Pump() {
  grpc::Status finish_status;
  bool finish = false;
  {
    absl::MutexLock lock(&mutex_);
    while (true) {
      if (writing_ || finished_) return;
      encoded_.reset();
      if (phase_ != Phase::kEnding && Next()) {
        writing_ = true;
        last_write_ = absl::Now();
        out_ = WrapShared(encoded_ ? std::move(encoded_)
                                   : std::make_shared<const std::string>(
                                         message_.SerializeAsString()));
        break;
      }
      if (phase_ == Phase::kEnding) {
        finished_ = true;
        finish = true;
        finish_status = end_status_;
        break;
      }
      // Nothing to send: be woken by the next event. If one slipped in
      // between Next() and arming, go round again.
      if (begin_.subscription->WaitForEvents([this] { Pump(); })) return;
    }
  }
  // Outside the lock: the reaction may run at once on another thread.
  // out_ is not touched again until OnWriteDone.
  XENLET_HAPPENS_BEFORE(this);  // gRPC hands the stream to that thread
  if (finish) {
    Finish(finish_status);
  } else {
    StartWrite(&out_);
    // StartWrite read out_ on this thread before OnWriteDone can run. (Only
    // TSan's bookkeeping is touched here, never the stream, which another
    // thread may have finished meanwhile.)
    XENLET_HAPPENS_BEFORE(this);
  }
}

void WatchStream::OnWriteDone(bool ok) {
  XENLET_HAPPENS_AFTER(this);
  {
    absl::MutexLock lock(&mutex_);
    writing_ = false;
    if (!ok && phase_ != Phase::kEnding) {
      // The client is gone; OnCancel follows.
      phase_ = Phase::kEnding;
      end_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
    }
  }
  Pump();
  // gRPC runs OnDone only once this reaction has returned: the stream is
  // still here, and all this reaction did comes before OnDone.
  XENLET_HAPPENS_BEFORE(this);
}

void WatchStream::Tick(absl::Time now) {
  {
    absl::MutexLock lock(&mutex_);
    if (phase_ != Phase::kLive) return;
    if (now - last_write_ >= bookmark_interval_) bookmark_due_ = true;
    if (stats_interval_ > absl::ZeroDuration() && now >= next_stats_ &&
        !stats_snapshot_) {
      stats_snapshot_ = store_->snapshot();
      stats_cursor_ = 0;
      next_stats_ = now + stats_interval_;
    }
    if (!bookmark_due_ && !stats_snapshot_) return;
  }
  Pump();
}

void WatchStream::End(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mutex_);
    if (phase_ == Phase::kEnding) return;
    phase_ = Phase::kEnding;
    end_status_ = status;
  }
  Pump();
}

void WatchStream::OnCancel() {
  XENLET_HAPPENS_AFTER(this);
  End(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  XENLET_HAPPENS_BEFORE(this);  // as in OnWriteDone
}

void WatchStream::OnDone() {
  XENLET_HAPPENS_AFTER(this);
  // Whoever used the mutex last (OnCancel's End, a tick) is done with it
  // before it is destroyed.
  { absl::MutexLock lock(&mutex_); }
  store_->Unwatch(begin_.subscription);
  on_done_(this);
  delete this;
}

}  // namespace xenlet::agent

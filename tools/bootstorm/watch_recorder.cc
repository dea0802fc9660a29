#include "tools/bootstorm/watch_recorder.h"

#include <algorithm>

#include "google/protobuf/util/time_util.h"

namespace xenlet::bootstorm {

using google::protobuf::util::TimeUtil;
using xenlet::v1::WatchDomainsResponse;

WatchRecorder::WatchRecorder(std::shared_ptr<grpc::Channel> channel)
    : stub_(xenlet::v1::DomainService::NewStub(channel)) {}

WatchRecorder::~WatchRecorder() { Stop(); }

absl::Status WatchRecorder::Start(absl::Duration timeout) {
  thread_ = std::thread([this] { Run(); });
  absl::MutexLock lock(&mutex_);
  auto ready = [this] {
    mutex_.AssertHeld();  // Await calls it with the lock held
    return synced_ || done_;
  };
  if (!mutex_.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
    return absl::DeadlineExceededError("no SYNCED from the agent");
  }
  if (!synced_) return absl::UnavailableError(state_.error);
  return absl::OkStatus();
}

void WatchRecorder::Stop() {
  context_.TryCancel();
  if (thread_.joinable()) thread_.join();
}

void WatchRecorder::Run() {
  xenlet::v1::WatchDomainsRequest request;
  request.set_initial_state(true);
  auto reader = stub_->WatchDomains(&context_, request);
  WatchDomainsResponse event;
  while (reader->Read(&event)) {
    const absl::Time now = absl::Now();
    bool live = false;
    {
      absl::MutexLock lock(&mutex_);
      live = synced_ && event.has_domain();
      Apply(event, now);
    }
    if (live && observer_) observer_(event);
  }
  grpc::Status status = reader->Finish();
  absl::MutexLock lock(&mutex_);
  done_ = true;
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    state_.error = status.error_message();
  }
}

void WatchRecorder::Apply(const WatchDomainsResponse& event, absl::Time now) {
  switch (event.type()) {
    case xenlet::v1::EVENT_TYPE_ADDED:
    case xenlet::v1::EVENT_TYPE_MODIFIED:
      state_.domains[event.domain().domid()] = event.domain();
      break;
    case xenlet::v1::EVENT_TYPE_DELETED:
      state_.domains.erase(event.domain().domid());
      break;
    case xenlet::v1::EVENT_TYPE_SYNCED:
      synced_ = true;
      break;
    default:
      break;
  }
  if (event.has_domain() && synced_ && event.revision() <= state_.revision) {
    ++state_.duplicates;
  }
  state_.revision = std::max(state_.revision, event.revision());
  if (event.has_detected_time() && synced_) {
    absl::Time detected = absl::FromUnixNanos(
        TimeUtil::TimestampToNanoseconds(event.detected_time()));
    state_.latencies_ms.push_back(absl::ToDoubleMilliseconds(now - detected));
    state_.received.push_back(
        {event.domain().domid(), event.transition(), detected, now});
  }
  if (event.has_domain()) ++state_.events;
  if (event.coalesced()) ++state_.coalesced;
}

WatchRecorder::Snapshot WatchRecorder::Get() const {
  absl::MutexLock lock(&mutex_);
  return state_;
}

}  // namespace xenlet::bootstorm

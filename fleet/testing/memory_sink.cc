#include "fleet/testing/memory_sink.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace xenlet::fleet::testing {

absl::Status MemorySink::Fault() {
  if (fail_after_ == 0) {
    fail_after_ = -1;
    ++fail_next_;
  } else if (fail_after_ > 0) {
    --fail_after_;
  }
  if (broken_ || fail_next_ > 0) {
    if (fail_next_ > 0) --fail_next_;
    ++state_.failed_calls;
    return absl::UnavailableError("memory sink: injected fault");
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredEvent> MemorySink::PublishEvent(
    const std::string& subject, const std::string& id,
    const std::string& payload) {
  absl::MutexLock lock(&mutex_);
  if (auto s = Fault(); !s.ok()) return s;
  StoredEvent stored;
  if (ids_.contains(id)) {
    stored.duplicate = true;
    ++state_.duplicates;
    return stored;
  }
  ids_[id] = subject;
  state_.events.push_back({subject, id, payload});
  return stored;
}

absl::StatusOr<std::optional<std::string>> MemorySink::LastEventId(
    const std::string& subject) {
  absl::MutexLock lock(&mutex_);
  if (auto s = Fault(); !s.ok()) return s;
  for (auto it = state_.events.rbegin(); it != state_.events.rend(); ++it) {
    if (it->subject == subject) return std::optional<std::string>(it->id);
  }
  return std::optional<std::string>();
}

absl::Status MemorySink::PutDomain(const std::string& key,
                                   const std::string& value) {
  absl::MutexLock lock(&mutex_);
  if (auto s = Fault(); !s.ok()) return s;
  state_.domains[key] = value;
  return absl::OkStatus();
}

absl::Status MemorySink::DeleteDomain(const std::string& key) {
  absl::MutexLock lock(&mutex_);
  if (auto s = Fault(); !s.ok()) return s;
  state_.domains.erase(key);
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> MemorySink::Domains(
    const std::string& filter) {
  absl::MutexLock lock(&mutex_);
  if (auto s = Fault(); !s.ok()) return s;
  // Only the filters the publisher uses: "<host>.>" or ">".
  const std::string prefix =
      filter == ">" ? "" : filter.substr(0, filter.size() - 1);
  std::map<std::string, std::string> held;
  for (const auto& entry : state_.domains) {
    if (absl::StartsWith(entry.first, prefix)) held.insert(entry);
  }
  return held;
}

absl::Status MemorySink::PutHealth(const std::string& host,
                                   const std::string& value) {
  absl::MutexLock lock(&mutex_);
  if (auto s = Fault(); !s.ok()) return s;
  if (stolen_) {
    return absl::AbortedError(
        absl::StrCat("memory sink: another writer has host ", host));
  }
  state_.health[host] = value;
  return absl::OkStatus();
}

void MemorySink::StealHealth() {
  absl::MutexLock lock(&mutex_);
  stolen_ = true;
}

absl::StatusOr<std::optional<std::string>> MemorySink::GetHealth(
    const std::string& host) {
  absl::MutexLock lock(&mutex_);
  if (auto s = Fault(); !s.ok()) return s;
  auto it = state_.health.find(host);
  if (it == state_.health.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

void MemorySink::FailNext(int calls) {
  absl::MutexLock lock(&mutex_);
  fail_next_ = calls;
}

void MemorySink::FailOneAfter(int calls) {
  absl::MutexLock lock(&mutex_);
  fail_after_ = calls;
}

void MemorySink::Break() {
  absl::MutexLock lock(&mutex_);
  broken_ = true;
}

void MemorySink::Heal() {
  absl::MutexLock lock(&mutex_);
  broken_ = false;
  fail_next_ = 0;
}

bool MemorySink::Await(const std::function<bool(const State&)>& pred,
                       absl::Duration timeout) const {
  absl::MutexLock lock(&mutex_);
  auto holds = [&] {
    mutex_.AssertHeld();  // Await calls it with the lock held
    return pred(state_);
  };
  return mutex_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

MemorySink::State MemorySink::state() const {
  absl::MutexLock lock(&mutex_);
  return state_;
}

}  // namespace xenlet::fleet::testing

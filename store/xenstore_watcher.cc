#include "store/xenstore_watcher.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "store/uuid.h"
#include "xen/errno_status.h"

namespace xenlet::store {
namespace {

constexpr char kIntroduce[] = "@introduceDomain";
constexpr char kRelease[] = "@releaseDomain";
constexpr char kLocalDomain[] = "/local/domain";
constexpr char kToken[] = "xenlet";
// How long a burst of watch events may be drained before keys are read.
constexpr absl::Duration kSettle = absl::Milliseconds(10);
// Key reads of at least this many domains at once are logged as they go.
constexpr size_t kProgressThreshold = 1000;

// "/local/domain/<domid>[/...]" -> domid.
std::optional<xen::Domid> DomidOfPath(std::string_view path) {
  constexpr std::string_view prefix = "/local/domain/";
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  std::string_view id = rest.substr(0, rest.find('/'));
  uint32_t domid;
  if (!absl::SimpleAtoi(std::string(id), &domid) ||
      domid >= xen::kDomidFirstReserved) {
    return std::nullopt;
  }
  return domid;
}

}  // namespace

XenstoreWatcher::XenstoreWatcher(Connect connect,
                                 XenstoreWatcherOptions options,
                                 Callbacks callbacks)
    : connect_(std::move(connect)),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)) {
  for (const std::string& key : options_.keys) {
    key_suffixes_.push_back(absl::StrCat("/", key));
  }
}

XenstoreWatcher::~XenstoreWatcher() { Stop(); }

void XenstoreWatcher::SetState(XenstoreState state) {
  {
    absl::MutexLock lock(&mutex_);
    if (state_ == state) return;
    state_ = state;
  }
  if (callbacks_.on_state) callbacks_.on_state(state);
}

absl::Status XenstoreWatcher::Connected() {
  watched_.clear();
  for (const char* path : {kIntroduce, kRelease}) {
    if (auto s = client_->Watch(path, kToken); !s.ok()) return s;
  }
  if (options_.mode == WatchMode::kSubtree) {
    if (auto s = client_->Watch(kLocalDomain, kToken); !s.ok()) return s;
  }
  return SyncPerDomainWatches();
}

absl::Status XenstoreWatcher::Start() {
  absl::Status status;
  auto client = connect_();
  if (client.ok()) {
    client_ = std::move(*client);
    status = Connected();
    if (!status.ok()) client_.reset();
  } else {
    status = client.status();
  }
  if (status.ok()) SetState(XenstoreState::kConnected);
  // Without xenstored the loop keeps trying to connect, with backoff.
  thread_ = std::thread([this] { Loop(); });
  return status;
}

void XenstoreWatcher::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void XenstoreWatcher::SetDomains(const std::vector<xen::Domid>& domids) {
  absl::MutexLock lock(&mutex_);
  absl::btree_set<xen::Domid> now(domids.begin(), domids.end());
  for (xen::Domid domid : now) {
    if (!known_.contains(domid)) dirty_.insert(domid);
  }
  known_ = std::move(now);
}

void XenstoreWatcher::RequestKeys(xen::Domid domid) {
  absl::MutexLock lock(&mutex_);
  dirty_.insert(domid);
}

XenstoreState XenstoreWatcher::state() const {
  absl::MutexLock lock(&mutex_);
  return state_;
}

XenstoreWatcherStats XenstoreWatcher::stats() const {
  absl::MutexLock lock(&mutex_);
  return stats_;
}

void XenstoreWatcher::HandleEvent(const xen::WatchEvent& event) {
  {
    absl::MutexLock lock(&mutex_);
    ++stats_.watch_events;
  }
  if (event.path == kIntroduce || event.path == kRelease) {
    if (callbacks_.on_domain_change) callbacks_.on_domain_change();
    return;
  }
  std::optional<xen::Domid> domid = DomidOfPath(event.path);
  if (!domid) return;  // /local/domain itself (the registration event)
  if (callbacks_.on_domain_event) callbacks_.on_domain_event(*domid);
  // Only paths that can change a tracked key: the domain's directory
  // itself (created or removed) or a tracked key or one of its parents.
  std::string_view rest(event.path);
  rest.remove_prefix(std::min(rest.size(), DomainPathLength(*domid)));
  bool relevant = rest.empty();
  for (const std::string& full : key_suffixes_) {
    if (full == rest ||
        (full.size() > rest.size() && full.compare(0, rest.size(), rest) == 0 &&
         full[rest.size()] == '/')) {
      relevant = true;
    }
  }
  if (relevant) RequestKeys(*domid);
}

size_t XenstoreWatcher::DomainPathLength(xen::Domid domid) {
  return xen::DomainPath(domid).size();
}

absl::Status XenstoreWatcher::SyncPerDomainWatches() {
  if (options_.mode != WatchMode::kPerDomain) return absl::OkStatus();
  absl::btree_set<xen::Domid> known;
  {
    absl::MutexLock lock(&mutex_);
    known = known_;
  }
  for (xen::Domid domid : known) {
    if (watched_.contains(domid)) continue;
    for (const std::string& key : options_.keys) {
      auto s = client_->Watch(absl::StrCat(xen::DomainPath(domid), "/", key),
                              kToken);
      if (!s.ok()) return s;
    }
    watched_.insert(domid);
  }
  for (auto it = watched_.begin(); it != watched_.end();) {
    xen::Domid domid = *it++;
    if (known.contains(domid)) continue;
    for (const std::string& key : options_.keys) {
      // The domain is gone; a failed unwatch only means it went first.
      client_->Unwatch(absl::StrCat(xen::DomainPath(domid), "/", key), kToken)
          .IgnoreError();
    }
    watched_.erase(domid);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> XenstoreWatcher::ReadOwner(
    const std::string& base) {
  auto vm = client_->Read(absl::StrCat(base, "/vm"));
  if (!vm.ok()) {
    if (vm.status().code() == absl::StatusCode::kNotFound) return "";
    return vm.status();
  }
  constexpr std::string_view prefix = "/vm/";
  if (vm->rfind(prefix, 0) != 0) return "";
  return CanonicalUuid(vm->substr(prefix.size())).value_or("");
}

// Plain reads, no transaction: the keys are independent of each other and
// every later change to one brings a watch event and a re-read, while a
// transaction would add conflicts with the toolstack's writes (during a
// boot storm most read-only transactions over a batch failed their commit
// with EAGAIN). What must not happen is mixing the keys of two domains
// that had the domid one after the other: the reads are bracketed by two
// reads of the vm key, which names the owner, and taken only if it did not
// change in between.
absl::StatusOr<DomainKeys> XenstoreWatcher::ReadDomainKeys(xen::Domid domid) {
  const std::string base = xen::DomainPath(domid);
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto before = ReadOwner(base);
    if (!before.ok()) return before.status();
    DomainKeys keys;
    keys.domid = domid;
    for (const std::string& key : options_.keys) {
      auto value = client_->Read(absl::StrCat(base, "/", key));
      if (value.ok()) {
        keys.values[key] = *std::move(value);
        keys.exists = true;
      } else if (value.status().code() != absl::StatusCode::kNotFound) {
        return value.status();
      }
    }
    if (!keys.exists) {
      // No tracked key: does the domain have a directory at all?
      auto dir = client_->Directory(base);
      if (dir.ok()) {
        keys.exists = true;
      } else if (dir.status().code() != absl::StatusCode::kNotFound) {
        return dir.status();
      }
    }
    auto after = ReadOwner(base);
    if (!after.ok()) return after.status();
    if (*before == *after) {
      keys.uuid = *after;
      return keys;
    }
  }
  return absl::AbortedError(
      absl::StrCat("domid ", domid, " kept changing owner while read"));
}

absl::Status XenstoreWatcher::ReadDirtyKeys() {
  // A full resync of a large host takes a while (xenstored answers slower
  // with every introduced domain): say how far it has got.
  size_t total;
  {
    absl::MutexLock lock(&mutex_);
    total = dirty_.size();
  }
  const bool report = total >= kProgressThreshold;
  const absl::Time start = absl::Now();
  size_t done = 0, reported = 0;
  if (report) LogInfo("xenstore_keys_reading", {{"domains", total}});
  while (true) {
    std::vector<xen::Domid> batch;
    {
      absl::MutexLock lock(&mutex_);
      while (!dirty_.empty() && batch.size() < options_.batch) {
        batch.push_back(*dirty_.begin());
        dirty_.erase(dirty_.begin());
      }
    }
    if (report && (batch.empty() || done - reported >= total / 10)) {
      reported = done;
      LogInfo(batch.empty() ? "xenstore_keys_read" : "xenstore_keys_progress",
              {{"done", done},
               {"of", total},
               {"seconds", absl::ToDoubleSeconds(absl::Now() - start)}});
    }
    if (batch.empty()) return absl::OkStatus();
    done += batch.size();
    std::vector<DomainKeys> results;
    absl::Status status;
    for (xen::Domid domid : batch) {
      auto keys = ReadDomainKeys(domid);
      if (!keys.ok()) {
        status = keys.status();
        break;
      }
      results.push_back(*std::move(keys));
      // Between two domains' reads: an @introduceDomain or @releaseDomain
      // that came meanwhile triggers its sweep now, not after every read
      // queued before it (a teardown's key removals held destroys up).
      status = HandleQueuedEvents();
      if (!status.ok()) break;
    }
    {
      absl::MutexLock lock(&mutex_);
      if (status.ok()) stats_.key_reads += batch.size();
    }
    if (!status.ok()) {
      // Read again later (after a reconnect, if that is what failed).
      absl::MutexLock lock(&mutex_);
      dirty_.insert(batch.begin(), batch.end());
      return status;
    }
    if (callbacks_.on_keys) callbacks_.on_keys(std::move(results));
  }
}

absl::Status XenstoreWatcher::HandleQueuedEvents() {
  while (true) {
    auto event = client_->NextWatchEvent(absl::ZeroDuration());
    if (!event.ok()) return event.status();
    if (!*event) return absl::OkStatus();
    HandleEvent(**event);
  }
}

absl::Status XenstoreWatcher::Reconnect() {
  SetState(XenstoreState::kReconnecting);
  {
    absl::MutexLock lock(&mutex_);
    ++stats_.reconnects;
  }
  client_.reset();
  absl::Duration backoff = options_.reconnect_initial;
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (stop_) return absl::CancelledError("stopping");
    }
    auto client = connect_();
    if (client.ok()) {
      client_ = std::move(*client);
      absl::Status s = Connected();
      if (s.ok()) break;
      client_.reset();
      LogWarning("xenstore_rewatch_failed",
                 {{"error", std::string(s.message())}});
    } else {
      LogWarning("xenstore_reconnect_failed",
                 {{"error", std::string(client.status().message())},
                  {"retry_in_ms", absl::ToInt64Milliseconds(backoff)}});
    }
    absl::MutexLock lock(&mutex_);
    auto stopping = [this] {
      mutex_.AssertHeld();  // Await calls it with the lock held
      return stop_;
    };
    mutex_.AwaitWithTimeout(absl::Condition(&stopping), backoff);
    backoff = std::min(backoff * 2, options_.reconnect_max);
  }
  // Events were lost while disconnected: every domain's keys are read
  // again and the model is swept.
  SetState(XenstoreState::kResyncing);
  {
    absl::MutexLock lock(&mutex_);
    dirty_.insert(known_.begin(), known_.end());
  }
  LogInfo("xenstore_reconnected");
  if (callbacks_.on_resync) callbacks_.on_resync();
  return absl::OkStatus();
}

void XenstoreWatcher::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (stop_) return;
    }
    if (!client_ && !Reconnect().ok()) return;  // stopping
    absl::Status status = SyncPerDomainWatches();
    if (status.ok()) status = ReadDirtyKeys();
    if (status.ok() && state() == XenstoreState::kResyncing) {
      SetState(XenstoreState::kConnected);
    }
    if (status.ok()) {
      // Short waits so that new dirty domains (from sweeps) and Stop() are
      // noticed promptly even when xenstore is quiet.
      auto event = client_->NextWatchEvent(absl::Milliseconds(50));
      if (event.ok() && *event) {
        HandleEvent(**event);
        // Drain the burst before reading: one toolstack transaction fires
        // a dozen events that arrive over a few hundred microseconds, and
        // reading after the first would read the domain again for the
        // rest. Until a millisecond passes without an event, for at most
        // kSettle (a watcher that lags makes every writer slower).
        const absl::Time settle = absl::Now() + kSettle;
        while (event.ok() && *event) {
          absl::Duration wait =
              std::min(absl::Milliseconds(1), settle - absl::Now());
          event = client_->NextWatchEvent(std::max(wait, absl::ZeroDuration()));
          if (event.ok() && *event) HandleEvent(**event);
        }
      }
      if (!event.ok()) status = event.status();
    }
    if (!status.ok()) {
      if (xen::IsConnectionLost(status)) {
        LogWarning("xenstore_connection_lost",
                   {{"error", std::string(status.message())}});
        if (!Reconnect().ok()) return;  // stopping
      } else {
        // E.g. a batch that kept conflicting: it was put back; try again
        // shortly rather than spin.
        LogWarning("xenstore_error",
                   {{"error", std::string(status.message())}});
        absl::MutexLock lock(&mutex_);
        auto stopping = [this] {
          mutex_.AssertHeld();  // Await calls it with the lock held
          return stop_;
        };
        mutex_.AwaitWithTimeout(absl::Condition(&stopping),
                                absl::Milliseconds(100));
      }
    }
  }
}

}  // namespace xenlet::store

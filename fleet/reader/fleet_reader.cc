#include "fleet/reader/fleet_reader.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "fleet/nats/jetstream.h"

namespace xenlet::fleet {
namespace {

BucketEntry ToBucketEntry(const nats::KvEntry& e) {
  BucketEntry out;
  out.key = e.key;
  out.value = e.value;
  out.revision = e.revision;
  out.created = e.created;
  switch (e.operation) {
    case nats::KvOperation::kPut:
      out.operation = BucketEntry::Operation::kPut;
      break;
    case nats::KvOperation::kDelete:
      out.operation = BucketEntry::Operation::kDelete;
      break;
    case nats::KvOperation::kPurge:
      out.operation = BucketEntry::Operation::kPurge;
      break;
  }
  return out;
}

int Index(FleetBucket bucket) {
  return bucket == FleetBucket::kDomains ? 0 : 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FleetReader>> FleetReader::Start(
    const nats::ConnectionOptions& nats, const ReaderOptions& options,
    ReaderCallbacks callbacks) {
  if (!options.host_filter.empty()) {
    absl::Status valid = ValidateHostId(options.host_filter);
    if (!valid.ok()) return valid;
  }
  auto conn = nats::Connection::Open(nats);
  if (!conn.ok()) return conn.status();
  auto reader = absl::WrapUnique(
      new FleetReader(std::move(*conn), options, std::move(callbacks)));
  reader->domains_thread_ =
      std::thread([r = reader.get()] { r->Run(FleetBucket::kDomains); });
  reader->hosts_thread_ =
      std::thread([r = reader.get()] { r->Run(FleetBucket::kHosts); });
  reader->reaper_thread_ = std::thread([r = reader.get()] { r->Reap(); });
  return reader;
}

FleetReader::FleetReader(std::unique_ptr<nats::Connection> conn,
                         const ReaderOptions& options,
                         ReaderCallbacks callbacks)
    : conn_(std::move(conn)),
      options_(options),
      callbacks_(std::move(callbacks)),
      model_(options.stale_after, options.clock) {}

FleetReader::~FleetReader() { Stop(); }

void FleetReader::Stop() {
  {
    absl::MutexLock lock(&control_mu_);
    stopping_ = true;
    for (nats::KvWatcher* watcher : active_) {
      if (watcher != nullptr) watcher->Stop();
    }
  }
  if (domains_thread_.joinable()) domains_thread_.join();
  if (hosts_thread_.joinable()) hosts_thread_.join();
  {
    absl::MutexLock lock(&reap_mu_);
    reaper_done_ = true;
  }
  if (reaper_thread_.joinable()) reaper_thread_.join();
}

void FleetReader::Retire(std::unique_ptr<nats::KvWatcher> watcher,
                         std::unique_ptr<nats::KeyValue> kv) {
  absl::MutexLock lock(&reap_mu_);
  retired_.push_back(Retired{std::move(kv), std::move(watcher)});
}

void FleetReader::Reap() {
  while (true) {
    std::vector<Retired> batch;
    bool done;
    {
      absl::MutexLock lock(&reap_mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reap_mu_) {
        return reaper_done_ || !retired_.empty();
      };
      reap_mu_.Await(absl::Condition(&work));
      batch.swap(retired_);
      done = reaper_done_;
    }
    batch.clear();  // the slow part, outside the lock
    if (done) return;
  }
}

FleetModel FleetReader::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return model_;
}

bool FleetReader::synced() const {
  absl::MutexLock lock(&mu_);
  return synced_delivered_;
}

bool FleetReader::WaitUntilSynced(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&synced_delivered_), timeout);
}

ReaderStats FleetReader::stats() const {
  absl::MutexLock lock(&mu_);
  ReaderStats stats = stats_;
  stats.bad_keys = model_.bad_keys();
  stats.bad_values = model_.bad_values();
  return stats;
}

absl::Status FleetReader::last_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

bool FleetReader::SetActive(FleetBucket bucket, nats::KvWatcher* watcher) {
  absl::MutexLock lock(&control_mu_);
  active_[Index(bucket)] = stopping_ ? nullptr : watcher;
  return !stopping_;
}

bool FleetReader::stopping() const {
  absl::MutexLock lock(&control_mu_);
  return stopping_;
}

bool FleetReader::WaitForStop(absl::Duration timeout) const {
  absl::MutexLock lock(&control_mu_);
  return control_mu_.AwaitWithTimeout(absl::Condition(&stopping_), timeout);
}

absl::StatusOr<std::unique_ptr<nats::KvWatcher>> FleetReader::OpenWatcher(
    FleetBucket bucket, std::unique_ptr<nats::KeyValue>* kv) {
  const std::string& name = bucket == FleetBucket::kDomains
                                ? options_.domains_bucket
                                : options_.hosts_bucket;
  // KeyValue::Open would create a missing bucket, with this reader's idea
  // of its configuration: ask first (a bucket is the stream KV_<name>).
  auto state = nats::GetStreamState(*conn_, absl::StrCat("KV_", name));
  if (!state.ok()) return state.status();
  nats::BucketConfig config;
  config.name = name;
  auto opened = nats::KeyValue::Open(*conn_, config);
  if (!opened.ok()) return opened.status();
  *kv = std::move(*opened);
  std::string filter = ">";
  if (!options_.host_filter.empty()) {
    filter = bucket == FleetBucket::kDomains
                 ? HostDomainsFilter(options_.host_filter)
                 : options_.host_filter;
  }
  return (*kv)->Watch(filter);
}

void FleetReader::Run(FleetBucket bucket) {
  std::unique_ptr<nats::KeyValue> kv;
  std::unique_ptr<nats::KvWatcher> watcher;
  // The connection's reconnects when the watcher was made.
  uint64_t reconnects = 0;
  absl::Duration retry = options_.poll_interval;
  bool first = true;
  absl::Time next_staleness_check = absl::InfinitePast();
  auto drop = [&] {
    SetActive(bucket, nullptr);
    if (watcher != nullptr) Retire(std::move(watcher), std::move(kv));
    watcher.reset();
    kv.reset();
  };

  while (!stopping()) {
    // Time alone makes a host stale, also while NATS is away.
    if (bucket == FleetBucket::kHosts && absl::Now() >= next_staleness_check) {
      UpdateStaleness();
      next_staleness_check = absl::Now() + options_.poll_interval;
    }
    if (watcher == nullptr) {
      // Read before making it: a reconnect in between makes it again.
      reconnects = conn_->reconnects();
      auto opened = OpenWatcher(bucket, &kv);
      if (!opened.ok() && absl::IsNotFound(opened.status())) {
        SetMissing(bucket, true);
        Empty(bucket);
        WaitForStop(options_.missing_bucket_interval);
        continue;
      }
      if (!opened.ok()) {
        RecordError(opened.status());
        kv.reset();
        WaitForStop(retry);
        retry = std::min(retry * 2, options_.retry_max);
        continue;
      }
      watcher = std::move(*opened);
      if (!SetActive(bucket, watcher.get())) break;
      SetMissing(bucket, false);
      retry = options_.poll_interval;
      if (!first) {
        absl::MutexLock lock(&mu_);
        ++stats_.resyncs;
      }
      first = false;
      BeginResync(bucket);
    }

    absl::StatusOr<nats::WatchItem> item =
        watcher->Next(options_.poll_interval);
    if (!item.ok()) {
      if (stopping()) break;
      // The watcher is broken (or was stopped under it): make a new one.
      RecordError(item.status());
      drop();
      WaitForStop(retry);
      continue;
    }
    if (item->kind == nats::WatchItem::kEntry) {
      Apply(bucket, item->entry);
    } else if (item->kind == nats::WatchItem::kInitialDone) {
      RecordError(absl::OkStatus());
      EndResync(bucket);
    }
    if (conn_->reconnects() != reconnects) drop();
  }
  drop();
}

void FleetReader::BeginResync(FleetBucket bucket) {
  absl::MutexLock dispatch(&dispatch_mu_);
  absl::MutexLock lock(&mu_);
  model_.BeginResync(bucket);
}

void FleetReader::EndResync(FleetBucket bucket) {
  absl::MutexLock dispatch(&dispatch_mu_);
  std::vector<FleetChange> removed;
  std::optional<FleetModel> synced_model;
  {
    absl::MutexLock lock(&mu_);
    removed = model_.EndResync(bucket);
    synced_model = TakeSynced();
  }
  for (const FleetChange& change : removed) Deliver(change);
  DeliverSynced(synced_model);
}

void FleetReader::Empty(FleetBucket bucket) {
  absl::MutexLock dispatch(&dispatch_mu_);
  std::vector<FleetChange> removed;
  std::optional<FleetModel> synced_model;
  {
    absl::MutexLock lock(&mu_);
    model_.BeginResync(bucket);
    removed = model_.EndResync(bucket);
    synced_model = TakeSynced();
  }
  for (const FleetChange& change : removed) Deliver(change);
  DeliverSynced(synced_model);
}

void FleetReader::Apply(FleetBucket bucket, const nats::KvEntry& entry) {
  absl::MutexLock dispatch(&dispatch_mu_);
  std::optional<FleetChange> change;
  {
    absl::MutexLock lock(&mu_);
    ++stats_.entries;
    change = model_.Apply(bucket, ToBucketEntry(entry));
  }
  if (change.has_value()) Deliver(*change);
}

void FleetReader::UpdateStaleness() {
  absl::MutexLock dispatch(&dispatch_mu_);
  std::vector<HostChange> flipped;
  {
    absl::MutexLock lock(&mu_);
    flipped = model_.UpdateStaleness();
  }
  for (const HostChange& change : flipped) Deliver(change);
}

void FleetReader::RecordError(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (!status.ok()) ++stats_.errors;
  last_error_ = status;
}

void FleetReader::SetMissing(FleetBucket bucket, bool missing) {
  absl::MutexLock lock(&mu_);
  if (bucket == FleetBucket::kDomains) {
    stats_.domains_bucket_missing = missing;
  } else {
    stats_.hosts_bucket_missing = missing;
  }
}

std::optional<FleetModel> FleetReader::TakeSynced() {
  if (synced_reported_ || !model_.synced()) return std::nullopt;
  synced_reported_ = true;
  return model_;
}

void FleetReader::Deliver(const FleetChange& change) {
  if (const auto* domain = std::get_if<DomainChange>(&change)) {
    if (callbacks_.on_domain) callbacks_.on_domain(*domain);
  } else if (const auto* host = std::get_if<HostChange>(&change)) {
    if (callbacks_.on_host) callbacks_.on_host(*host);
  }
}

void FleetReader::DeliverSynced(const std::optional<FleetModel>& synced_model) {
  if (!synced_model.has_value()) return;
  if (callbacks_.on_synced) callbacks_.on_synced(*synced_model);
  // Only now: a caller woken by WaitUntilSynced finds on_synced done.
  absl::MutexLock lock(&mu_);
  synced_delivered_ = true;
}

}  // namespace xenlet::fleet

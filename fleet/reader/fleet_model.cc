#include "fleet/reader/fleet_model.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "fleet/fleet_names.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

namespace xenlet::fleet {
namespace {

using fleet::v1::HostHealth;
using google::protobuf::util::MessageDifferencer;
using xenlet::v1::Domain;

// Newer publishers may write fields this reader does not know yet.
bool ParseJson(const std::string& json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(json, message, options)
      .ok();
}

}  // namespace

const char* FleetBucketName(FleetBucket bucket) {
  return bucket == FleetBucket::kDomains ? "domains" : "hosts";
}

const char* ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded:
      return "ADDED";
    case ChangeKind::kModified:
      return "MODIFIED";
    case ChangeKind::kDeleted:
      return "DELETED";
  }
  return "?";
}

std::string ExportText(const google::protobuf::Message& message) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  std::string text;
  printer.PrintToString(message, &text);
  // Single-line mode leaves a trailing space.
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

FleetModel::FleetModel(absl::Duration stale_after, Clock clock)
    : stale_after_(stale_after),
      clock_(clock != nullptr ? std::move(clock) : [] { return absl::Now(); }) {
}

FleetModel::BucketState& FleetModel::state(FleetBucket bucket) {
  return bucket == FleetBucket::kDomains ? domains_state_ : hosts_state_;
}

const FleetModel::BucketState& FleetModel::state(FleetBucket bucket) const {
  return bucket == FleetBucket::kDomains ? domains_state_ : hosts_state_;
}

std::optional<FleetChange> FleetModel::Apply(FleetBucket bucket,
                                             const BucketEntry& entry) {
  const bool initial = state(bucket).resyncing;
  return bucket == FleetBucket::kDomains ? ApplyDomain(entry, initial)
                                         : ApplyHost(entry, initial);
}

std::optional<FleetChange> FleetModel::ApplyDomain(const BucketEntry& entry,
                                                   bool initial) {
  std::optional<DomainKeyParts> parts = ParseDomainKey(entry.key);
  if (!parts.has_value()) {
    ++bad_keys_;
    return std::nullopt;
  }
  DomainRef ref{std::move(parts->host), std::move(parts->uuid), parts->domid};
  auto it = domains_.find(ref);
  if (entry.operation != BucketEntry::Operation::kPut) {
    // Initial values include the markers of deleted keys: nothing to do
    // unless the model still has the key.
    if (it == domains_.end()) return std::nullopt;
    DomainChange change{
        ChangeKind::kDeleted, ref, std::move(it->second.domain), {}};
    domains_.erase(it);
    return change;
  }
  Domain domain;
  if (!ParseJson(entry.value, &domain)) {
    ++bad_values_;
    return std::nullopt;
  }
  if (initial) marked_domains_.insert(ref);
  if (it == domains_.end()) {
    domains_.emplace(ref, DomainRecord{domain, entry.revision});
    return DomainChange{
        ChangeKind::kAdded, std::move(ref), std::move(domain), {}};
  }
  // A re-delivery after a watcher was recreated.
  if (it->second.revision == entry.revision &&
      MessageDifferencer::Equals(it->second.domain, domain)) {
    return std::nullopt;
  }
  DomainChange change{ChangeKind::kModified, ref, domain,
                      std::move(it->second.domain)};
  it->second = DomainRecord{std::move(domain), entry.revision};
  return change;
}

std::optional<FleetChange> FleetModel::ApplyHost(const BucketEntry& entry,
                                                 bool initial) {
  if (!ValidateHostId(entry.key).ok()) {
    ++bad_keys_;
    return std::nullopt;
  }
  auto it = hosts_.find(entry.key);
  if (entry.operation != BucketEntry::Operation::kPut) {
    if (it == hosts_.end()) return std::nullopt;
    const bool was_stale = it->second.stale;
    HostChange change{ChangeKind::kDeleted, entry.key, std::move(it->second),
                      was_stale};
    hosts_.erase(it);
    return change;
  }
  HostHealth health;
  if (!ParseJson(entry.value, &health)) {
    ++bad_values_;
    return std::nullopt;
  }
  if (initial) marked_hosts_.insert(entry.key);
  if (it != hosts_.end() && it->second.revision == entry.revision &&
      MessageDifferencer::Equals(it->second.health, health)) {
    return std::nullopt;
  }
  const absl::Time now = clock_();
  HostStatus status;
  status.health = std::move(health);
  status.revision = entry.revision;
  // An initial value may have been written long ago: its arrival says
  // nothing about the host.
  status.heard = initial ? entry.created : now;
  status.stale = IsStale(status, now);
  if (it == hosts_.end()) {
    hosts_.emplace(entry.key, status);
    return HostChange{ChangeKind::kAdded, entry.key, std::move(status), false};
  }
  HostChange change{ChangeKind::kModified, entry.key, status, it->second.stale};
  it->second = std::move(status);
  return change;
}

bool FleetModel::IsStale(const HostStatus& status, absl::Time now) const {
  return status.health.state() != HostHealth::STATE_LIVE ||
         now - status.heard > stale_after_;
}

void FleetModel::BeginResync(FleetBucket bucket) {
  state(bucket).resyncing = true;
  if (bucket == FleetBucket::kDomains) {
    marked_domains_.clear();
  } else {
    marked_hosts_.clear();
  }
}

std::vector<FleetChange> FleetModel::EndResync(FleetBucket bucket) {
  BucketState& s = state(bucket);
  std::vector<FleetChange> removed;
  if (!s.resyncing) return removed;
  if (bucket == FleetBucket::kDomains) {
    for (auto it = domains_.begin(); it != domains_.end();) {
      if (marked_domains_.count(it->first) > 0) {
        ++it;
        continue;
      }
      removed.push_back(DomainChange{
          ChangeKind::kDeleted, it->first, std::move(it->second.domain), {}});
      it = domains_.erase(it);
    }
    marked_domains_.clear();
  } else {
    for (auto it = hosts_.begin(); it != hosts_.end();) {
      if (marked_hosts_.count(it->first) > 0) {
        ++it;
        continue;
      }
      const bool was_stale = it->second.stale;
      removed.push_back(HostChange{ChangeKind::kDeleted, it->first,
                                   std::move(it->second), was_stale});
      it = hosts_.erase(it);
    }
    marked_hosts_.clear();
  }
  s.resyncing = false;
  s.synced_once = true;
  return removed;
}

bool FleetModel::resyncing(FleetBucket bucket) const {
  return state(bucket).resyncing;
}

bool FleetModel::synced() const {
  return domains_state_.synced_once && hosts_state_.synced_once;
}

std::vector<HostChange> FleetModel::UpdateStaleness() {
  const absl::Time now = clock_();
  std::vector<HostChange> flipped;
  for (auto& [host, status] : hosts_) {
    const bool stale = IsStale(status, now);
    if (stale == status.stale) continue;
    const bool was_stale = status.stale;
    status.stale = stale;
    flipped.push_back(
        HostChange{ChangeKind::kModified, host, status, was_stale});
  }
  return flipped;
}

ModelExport FleetModel::Export() const {
  ModelExport out;
  for (const auto& [ref, record] : domains_) {
    out.domains[DomainKey(ref.host, ref.uuid, ref.domid)] =
        ExportText(record.domain);
  }
  for (const auto& [host, status] : hosts_) {
    out.hosts[host] =
        absl::StrCat(status.stale ? "stale " : "", ExportText(status.health));
  }
  return out;
}

}  // namespace xenlet::fleet

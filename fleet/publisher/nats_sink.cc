#include "fleet/publisher/nats_sink.h"

#include "absl/strings/str_cat.h"
#include "fleet/fleet_names.h"
#include "fleet/nats/jetstream.h"

namespace xenlet::fleet {

absl::StatusOr<std::unique_ptr<NatsSink>> NatsSink::Open(
    nats::Connection& connection, const NatsSinkOptions& options) {
  nats::StreamConfig stream;
  stream.name = std::string(kEventsStream);
  stream.subjects = {absl::StrCat(kEventsSubjectPrefix, ">")};
  stream.replicas = options.replicas;
  stream.max_age = options.events_max_age;
  // The resume point, not this window, keeps the stream exact; the window
  // catches copies of a publish still in flight (docs/fleet.md 1.2).
  stream.duplicates_window = absl::Minutes(2);
  if (auto s = nats::EnsureStream(connection, stream); !s.ok()) {
    return s.status();
  }
  nats::BucketConfig domains;
  domains.name = std::string(kDomainsBucket);
  domains.replicas = options.replicas;
  auto domains_kv = nats::KeyValue::Open(connection, domains);
  if (!domains_kv.ok()) return domains_kv.status();
  nats::BucketConfig hosts;
  hosts.name = std::string(kHostsBucket);
  hosts.replicas = options.replicas;
  auto hosts_kv = nats::KeyValue::Open(connection, hosts);
  if (!hosts_kv.ok()) return hosts_kv.status();
  return std::unique_ptr<NatsSink>(new NatsSink(
      connection, options, std::move(*domains_kv), std::move(*hosts_kv)));
}

absl::StatusOr<StoredEvent> NatsSink::PublishEvent(const std::string& subject,
                                                   const std::string& id,
                                                   const std::string& payload) {
  auto ack = nats::Publish(connection_, subject, id, payload,
                           options_.publish_timeout);
  if (!ack.ok()) return ack.status();
  StoredEvent stored;
  stored.duplicate = ack->duplicate;
  return stored;
}

absl::StatusOr<std::optional<std::string>> NatsSink::LastEventId(
    const std::string& subject) {
  auto last =
      nats::LastMessage(connection_, std::string(kEventsStream), subject);
  if (!last.ok()) return last.status();
  if (!last->has_value()) return std::optional<std::string>();
  return std::optional<std::string>((*last)->msg_id);
}

absl::Status NatsSink::PutDomain(const std::string& key,
                                 const std::string& value) {
  return domains_->Put(key, value).status();
}

absl::Status NatsSink::DeleteDomain(const std::string& key) {
  return domains_->Delete(key);
}

absl::StatusOr<std::map<std::string, std::string>> NatsSink::Domains(
    const std::string& filter) {
  // A watcher's initial values: every key's value in one pass, rather
  // than a request per key.
  auto watcher = domains_->Watch(filter);
  if (!watcher.ok()) return watcher.status();
  std::map<std::string, std::string> held;
  while (true) {
    auto item = (*watcher)->Next(connection_.options().jetstream_timeout);
    if (!item.ok()) return item.status();
    switch (item->kind) {
      case nats::WatchItem::kInitialDone:
        return held;
      case nats::WatchItem::kTimeout:
        return absl::DeadlineExceededError(
            absl::StrCat("nats: the values of ", kDomainsBucket, " ", filter,
                         " did not all come"));
      case nats::WatchItem::kEntry:
        if (item->entry.operation == nats::KvOperation::kPut) {
          held[item->entry.key] = item->entry.value;
        } else {
          held.erase(item->entry.key);
        }
        break;
    }
  }
}

absl::Status NatsSink::PutHealth(const std::string& host,
                                 const std::string& value) {
  auto taken = [&host](uint64_t revision) {
    return absl::AbortedError(
        absl::StrCat("another writer changed host ", host, "'s health in ",
                     kHostsBucket, " since revision ", revision,
                     ", the one this publisher last wrote or read: is a second "
                     "xenlet-publish running with --host-id ",
                     host, "?"));
  };
  if (!health_revision_) {
    // Not known: the first write, or the last one's answer was lost.
    auto entry = hosts_->Get(host);
    if (!entry.ok()) return entry.status();
    if (!entry->has_value()) {
      health_revision_ = 0;
    } else if ((*entry)->value == attempted_ ||
               (*entry)->revision == health_known_) {
      health_revision_ = (*entry)->revision;  // ours, or as we left it
    } else {
      return taken((*entry)->revision);
    }
  }
  auto revision = hosts_->Update(host, value, *health_revision_);
  if (revision.ok()) {
    health_revision_ = *revision;
    health_known_ = *revision;
    attempted_.clear();
    return absl::OkStatus();
  }
  if (revision.status().code() == absl::StatusCode::kAborted) {
    return taken(*health_revision_);
  }
  health_revision_.reset();
  attempted_ = value;
  return revision.status();
}

absl::StatusOr<std::optional<std::string>> NatsSink::GetHealth(
    const std::string& host) {
  auto entry = hosts_->Get(host);
  if (!entry.ok()) return entry.status();
  // What this sink's next write starts from (a restarted publisher reads
  // its own last health first).
  health_revision_ = entry->has_value() ? (*entry)->revision : 0;
  health_known_ = *health_revision_;
  if (!entry->has_value()) return std::optional<std::string>();
  return std::optional<std::string>((*entry)->value);
}

}  // namespace xenlet::fleet

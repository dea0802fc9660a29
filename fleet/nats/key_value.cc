#include "fleet/nats/key_value.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "fleet/nats/nats_status.h"

namespace xenlet::fleet::nats {
namespace {

int64_t Millis(absl::Duration d) {
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(d));
}

KvEntry ToEntry(kvEntry* e) {
  KvEntry out;
  out.key = kvEntry_Key(e);
  if (kvEntry_ValueLen(e) > 0) {
    out.value.assign(static_cast<const char*>(kvEntry_Value(e)),
                     kvEntry_ValueLen(e));
  }
  out.revision = kvEntry_Revision(e);
  switch (kvEntry_Operation(e)) {
    case kvOp_Delete:
      out.operation = KvOperation::kDelete;
      break;
    case kvOp_Purge:
      out.operation = KvOperation::kPurge;
      break;
    default:
      out.operation = KvOperation::kPut;
      break;
  }
  out.created = absl::FromUnixNanos(kvEntry_Created(e));
  return out;
}

}  // namespace

absl::string_view KvOperationName(KvOperation op) {
  switch (op) {
    case KvOperation::kPut:
      return "put";
    case KvOperation::kDelete:
      return "delete";
    case KvOperation::kPurge:
      return "purge";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<KeyValue>> KeyValue::Open(
    Connection& conn, const BucketConfig& config) {
  if (config.history < 1 || config.history > 64) {
    return absl::InvalidArgumentError(absl::StrCat("nats: bucket ", config.name,
                                                   ": history ", config.history,
                                                   " is not within 1 to 64"));
  }
  kvStore* raw = nullptr;
  natsStatus s = js_KeyValue(&raw, conn.jetstream(), config.name.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = config.name.c_str();
    cfg.History = static_cast<uint8_t>(config.history);
    cfg.TTL = absl::ToInt64Nanoseconds(config.max_age);
    cfg.Replicas = config.replicas;
    // Two openers may race to create it: the server accepts the same
    // configuration twice.
    s = js_CreateKeyValue(&raw, conn.jetstream(), &cfg);
    if (s != NATS_OK) {
      return NatsError(s, absl::StrCat("js_CreateKeyValue ", config.name));
    }
  } else if (s != NATS_OK) {
    return NatsError(s, absl::StrCat("js_KeyValue ", config.name));
  }
  return absl::WrapUnique(new KeyValue(conn, config.name, KvStorePtr(raw)));
}

absl::StatusOr<uint64_t> KeyValue::Put(const std::string& key,
                                       absl::string_view value) {
  if (value.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("nats: put ", bucket_, " ",
                                                   key, ": value of ",
                                                   value.size(), " bytes"));
  }
  uint64_t revision = 0;
  natsStatus s = kvStore_Put(&revision, kv_.get(), key.c_str(), value.data(),
                             static_cast<int>(value.size()));
  if (s != NATS_OK) {
    return NatsError(s, absl::StrCat("put ", bucket_, " ", key));
  }
  return revision;
}

absl::StatusOr<uint64_t> KeyValue::Update(const std::string& key,
                                          absl::string_view value,
                                          uint64_t last_revision) {
  if (value.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("nats: update ", bucket_,
                                                   " ", key, ": value of ",
                                                   value.size(), " bytes"));
  }
  uint64_t revision = 0;
  const int length = static_cast<int>(value.size());
  natsStatus s = last_revision == 0
                     ? kvStore_Create(&revision, kv_.get(), key.c_str(),
                                      value.data(), length)
                     : kvStore_Update(&revision, kv_.get(), key.c_str(),
                                      value.data(), length, last_revision);
  if (s == NATS_OK) return revision;
  // The server's "wrong last sequence" (JSStreamWrongLastSequenceErr) or,
  // for a create, "key exists": libnats gives no error code for either,
  // only its text.
  const std::string last_error =
      nats_GetLastError(nullptr) != nullptr ? nats_GetLastError(nullptr) : "";
  if (last_error.find("wrong last sequence") != std::string::npos ||
      last_error.find("key exists") != std::string::npos) {
    return absl::AbortedError(absl::StrCat("nats: update ", bucket_, " ", key,
                                           " at revision ", last_revision, ": ",
                                           last_error));
  }
  return NatsError(s, absl::StrCat("update ", bucket_, " ", key));
}

absl::Status KeyValue::Delete(const std::string& key) {
  natsStatus s = kvStore_Delete(kv_.get(), key.c_str());
  if (s != NATS_OK) {
    return NatsError(s, absl::StrCat("delete ", bucket_, " ", key));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<KvEntry>> KeyValue::Get(const std::string& key) {
  kvEntry* raw = nullptr;
  natsStatus s = kvStore_Get(&raw, kv_.get(), key.c_str());
  KvEntryPtr entry(raw);
  // libnats says NATS_NOT_FOUND for a key never put and for one whose
  // last revision is a delete or purge marker.
  if (s == NATS_NOT_FOUND) return std::nullopt;
  if (s != NATS_OK) {
    return NatsError(s, absl::StrCat("get ", bucket_, " ", key));
  }
  return ToEntry(entry.get());
}

absl::StatusOr<std::vector<std::string>> KeyValue::Keys(
    const std::string& filter) {
  // libnats 3.4's kvStore_Keys lists the whole bucket; a watcher of the
  // filter, without deletes or values, lists just these.
  const std::string operation = absl::StrCat("keys ", bucket_, " ", filter);
  kvWatchOptions options;
  kvWatchOptions_Init(&options);
  options.IgnoreDeletes = true;
  options.MetaOnly = true;
  kvWatcher* raw = nullptr;
  natsStatus s = kvStore_Watch(&raw, kv_.get(), filter.c_str(), &options);
  KvWatcherPtr watcher(raw);
  if (s != NATS_OK) return NatsError(s, operation);

  std::vector<std::string> keys;
  const absl::Duration wait = conn_.options().jetstream_timeout;
  while (true) {
    kvEntry* raw_entry = nullptr;
    s = kvWatcher_Next(&raw_entry, watcher.get(), Millis(wait));
    KvEntryPtr entry(raw_entry);
    if (s != NATS_OK) {
      return NatsError(
          s, operation, static_cast<jsErrCode>(0),
          s == NATS_TIMEOUT
              ? absl::StrCat("no key in ", absl::FormatDuration(wait),
                             " after ", keys.size())
              : "");
    }
    if (entry == nullptr) break;  // the end of the initial values
    keys.emplace_back(kvEntry_Key(entry.get()));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

absl::StatusOr<std::unique_ptr<KvWatcher>> KeyValue::Watch(
    const std::string& filter) {
  const std::string description = absl::StrCat("watch ", bucket_, " ", filter);
  kvWatcher* raw = nullptr;
  natsStatus s = kvStore_Watch(&raw, kv_.get(), filter.c_str(), nullptr);
  KvWatcherPtr watcher(raw);
  if (s != NATS_OK) return NatsError(s, description);
  return absl::WrapUnique(new KvWatcher(description, std::move(watcher)));
}

absl::StatusOr<WatchItem> KvWatcher::Next(absl::Duration timeout) {
  kvEntry* raw = nullptr;
  natsStatus s = kvWatcher_Next(&raw, watcher_.get(), Millis(timeout));
  KvEntryPtr entry(raw);
  WatchItem item;
  if (s == NATS_TIMEOUT) {
    item.kind = WatchItem::kTimeout;
    return item;
  }
  if (s == NATS_ILLEGAL_STATE) {
    return absl::CancelledError(
        absl::StrCat("nats: ", description_, ": stopped"));
  }
  if (s != NATS_OK) return NatsError(s, description_);
  if (entry == nullptr) {
    item.kind = WatchItem::kInitialDone;
    return item;
  }
  item.kind = WatchItem::kEntry;
  item.entry = ToEntry(entry.get());
  return item;
}

void KvWatcher::Stop() { kvWatcher_Stop(watcher_.get()); }

}  // namespace xenlet::fleet::nats

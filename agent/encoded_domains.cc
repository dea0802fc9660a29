#include "agent/encoded_domains.h"

#include <memory>

#include "store/volatile_view.h"

namespace xenlet::agent {

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

store::Encoded EncodedDomains::Stable(const store::DomainPtr& domain) {
  Shard& shard = shards_[domain->domid() % kShards];
  {
    absl::MutexLock lock(&shard.mutex);
    auto it = shard.entries.find(domain->domid());
    if (it != shard.entries.end() && it->second.domain == domain) {
      return it->second.stable;
    }
  }
  // Encoded outside the lock; two listings may both make it, once each.
  v1::Domain copy = *domain;
  store::ClearVolatile(&copy);
  auto stable = std::make_shared<const std::string>(copy.SerializeAsString());
  encoded_.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&shard.mutex);
  shard.entries[domain->domid()] = Entry{domain, stable};
  return stable;
}

void EncodedDomains::Append(int field, const store::DomainPtr& domain,
                            const xen::DomainInfo* info, std::string* out) {
  const store::Encoded stable = Stable(domain);
  v1::Domain fresh;
  if (info) {
    store::FillVolatile(*info, &fresh);
  } else {
    store::CopyVolatile(*domain, &fresh);
  }
  const std::string volatiles = fresh.SerializeAsString();
  AppendVarint(static_cast<uint64_t>(field) << 3 | 2, out);  // length-delimited
  AppendVarint(stable->size() + volatiles.size(), out);
  out->append(*stable);
  out->append(volatiles);
}

}  // namespace xenlet::agent

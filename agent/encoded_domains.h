// Each domain's wire form as a listing sends it, kept while its message is
// current, so that a listing copies bytes instead of building and
// serialising a message per domain. A stored Domain never changes (a
// change publishes a new one), so an entry is current while it holds the
// very message the snapshot holds. Only the volatile fields (cpu time,
// memory, vCPUs online, running/blocked) are fresh on every sweep: the
// entry is the message with them cleared, and each listing appends them
// from the snapshot's sweep. Protobuf parses concatenated encodings of a
// message as their merge, so stable bytes + volatile bytes read back as
// the domain with its fresh volatile fields. One entry per domid (at most
// 32752); a destroyed domain's stays until its domid is listed again.
#ifndef XENLET_AGENT_ENCODED_DOMAINS_H_
#define XENLET_AGENT_ENCODED_DOMAINS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "store/domain_table.h"
#include "store/encoded_forms.h"
#include "xen/types.h"

namespace xenlet::agent {

class EncodedDomains {
 public:
  // Appends domain, as answered without a field mask, to out as field
  // `field` of the enclosing message (tag, length, bytes). info: the
  // snapshot's sweep entry for it (null: the message's own values).
  void Append(int field, const store::DomainPtr& domain,
              const xen::DomainInfo* info, std::string* out);

  // Stable forms made so far (each message's, once).
  uint64_t encoded() const { return encoded_.load(); }

 private:
  // The stable form, made if the entry is not current.
  store::Encoded Stable(const store::DomainPtr& domain);

  struct Entry {
    store::DomainPtr domain;  // held: its address is not reused meanwhile
    store::Encoded stable;
  };
  // One lock per shard of domids, so that concurrent listings rarely meet.
  static constexpr size_t kShards = 64;
  struct Shard {
    absl::Mutex mutex;
    absl::flat_hash_map<uint32_t, Entry> entries ABSL_GUARDED_BY(mutex);
  };
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> encoded_{0};
};

// Appends a varint (protobuf's base-128 encoding).
void AppendVarint(uint64_t value, std::string* out);

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_ENCODED_DOMAINS_H_

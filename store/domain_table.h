// An immutable map from domid to domain that is cheap to change by copying:
// a two-level table (512 chunks of 64 slots) whose untouched chunks are
// shared between versions, so publishing a change to a few domains copies
// one 512-pointer index and the chunks touched, never every domain.
#ifndef XENLET_STORE_DOMAIN_TABLE_H_
#define XENLET_STORE_DOMAIN_TABLE_H_

#include <array>
#include <bitset>
#include <cstdint>
#include <memory>

#include "xenlet/v1/domain.pb.h"

namespace xenlet::store {

// The model stores API Domain messages: they are what queries and events
// hand out, and immutable once published.
using DomainPtr = std::shared_ptr<const v1::Domain>;

class DomainTableBuilder;

class DomainTable {
 public:
  static constexpr uint32_t kChunkBits = 6;
  static constexpr uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr uint32_t kDomidLimit = 0x7FF0;  // DOMID_FIRST_RESERVED
  static constexpr uint32_t kChunks =
      (kDomidLimit + kChunkSize - 1) / kChunkSize;

  DomainTable();

  size_t size() const { return size_; }
  // Null if there is no domain with that domid.
  const DomainPtr& Get(uint32_t domid) const;

  // Calls fn(const DomainPtr&) for each domain with domid >= first, in domid
  // order, until fn returns false.
  template <typename Fn>
  void ForEachFrom(uint32_t first, Fn fn) const;
  template <typename Fn>
  void ForEach(Fn fn) const {
    ForEachFrom(0, [&](const DomainPtr& d) {
      fn(d);
      return true;
    });
  }

  // Changes a copy of a table (see DomainTableBuilder).
  using Builder = DomainTableBuilder;

 private:
  friend class DomainTableBuilder;
  struct Chunk {
    std::array<DomainPtr, kChunkSize> slots;
    uint32_t count = 0;
  };
  // Mutable types: a Builder changes only the index and chunks it owns
  // alone; published tables are never changed.
  using Index = std::array<std::shared_ptr<Chunk>, kChunks>;

  std::shared_ptr<Index> index_;
  size_t size_ = 0;
};

// Changes a copy of a table; each chunk is cloned once, on its first write
// after a Build().
class DomainTableBuilder {
 public:
  explicit DomainTableBuilder(const DomainTable& base);
  void Set(uint32_t domid, DomainPtr domain);  // domain non-null
  void Erase(uint32_t domid);
  const DomainPtr& Get(uint32_t domid) const { return table_.Get(domid); }
  size_t size() const { return table_.size(); }
  // The new table; the builder may go on being used for the next one.
  DomainTable Build() const { return table_; }

 private:
  DomainTable::Chunk* Writable(uint32_t chunk);
  DomainTable table_;
  std::bitset<DomainTable::kChunks> owned_;
};

template <typename Fn>
void DomainTable::ForEachFrom(uint32_t first, Fn fn) const {
  for (uint32_t c = first >> kChunkBits; c < kChunks; ++c) {
    const std::shared_ptr<Chunk>& chunk = (*index_)[c];
    if (!chunk || chunk->count == 0) continue;
    uint32_t begin = c == (first >> kChunkBits) ? first & (kChunkSize - 1) : 0;
    for (uint32_t s = begin; s < kChunkSize; ++s) {
      if (chunk->slots[s] && !fn(chunk->slots[s])) return;
    }
  }
}

}  // namespace xenlet::store

#endif  // XENLET_STORE_DOMAIN_TABLE_H_

#include "store/domain_table.h"

namespace xenlet::store {
namespace {

const DomainPtr& NullDomain() {
  static const DomainPtr null_domain;
  return null_domain;
}

}  // namespace

DomainTable::DomainTable() : index_(std::make_shared<Index>()) {}

const DomainPtr& DomainTable::Get(uint32_t domid) const {
  if (domid >= kDomidLimit) return NullDomain();
  const std::shared_ptr<Chunk>& chunk = (*index_)[domid >> kChunkBits];
  return chunk ? chunk->slots[domid & (kChunkSize - 1)] : NullDomain();
}

DomainTableBuilder::DomainTableBuilder(const DomainTable& base)
    : table_(base) {}

DomainTable::Chunk* DomainTableBuilder::Writable(uint32_t c) {
  // The index is cloned at the first write after every Build(), since a
  // built table shares it.
  if (table_.index_.use_count() > 1) {
    table_.index_ = std::make_shared<DomainTable::Index>(*table_.index_);
    owned_.reset();
  }
  DomainTable::Index& index = *table_.index_;
  if (!owned_[c]) {
    index[c] = index[c] ? std::make_shared<DomainTable::Chunk>(*index[c])
                        : std::make_shared<DomainTable::Chunk>();
    owned_[c] = true;
  }
  return index[c].get();
}

void DomainTableBuilder::Set(uint32_t domid, DomainPtr domain) {
  if (domid >= DomainTable::kDomidLimit || !domain) return;
  DomainTable::Chunk* chunk = Writable(domid >> DomainTable::kChunkBits);
  DomainPtr& slot = chunk->slots[domid & (DomainTable::kChunkSize - 1)];
  if (!slot) {
    ++chunk->count;
    ++table_.size_;
  }
  slot = std::move(domain);
}

void DomainTableBuilder::Erase(uint32_t domid) {
  if (!table_.Get(domid)) return;
  DomainTable::Chunk* chunk = Writable(domid >> DomainTable::kChunkBits);
  chunk->slots[domid & (DomainTable::kChunkSize - 1)].reset();
  --chunk->count;
  --table_.size_;
}

}  // namespace xenlet::store

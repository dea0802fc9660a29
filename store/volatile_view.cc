#include "store/volatile_view.h"

#include <algorithm>

namespace xenlet::store {

void FillVolatile(const xen::DomainInfo& info, v1::Domain* out) {
  out->mutable_flags()->set_running(info.running);
  out->mutable_flags()->set_blocked(info.blocked);
  out->set_vcpus_online(info.nr_online_vcpus);
  out->set_cpu_time_ns(info.cpu_time_ns);
  v1::DomainMemory* memory = out->mutable_memory();
  memory->set_current_bytes(info.tot_pages * xen::kPageSize);
  memory->set_shared_bytes(info.shr_pages * xen::kPageSize);
  memory->set_outstanding_bytes(info.outstanding_pages * xen::kPageSize);
}

VolatileView::VolatileView(std::shared_ptr<const SweepBuffer> sweep)
    : sweep_(std::move(sweep)) {}

const xen::DomainInfo* VolatileView::Find(uint32_t domid) const {
  if (!sweep_) return nullptr;
  auto it = std::lower_bound(
      sweep_->begin(), sweep_->end(), domid,
      [](const xen::DomainInfo& info, uint32_t d) { return info.domid < d; });
  return it != sweep_->end() && it->domid == domid ? &*it : nullptr;
}

void VolatileView::Merge(v1::Domain* domain) const {
  if (const xen::DomainInfo* info = Find(domain->domid())) {
    FillVolatile(*info, domain);
  }
}

const xen::DomainInfo* VolatileView::Cursor::Find(uint32_t domid) {
  const SweepBuffer* sweep = view_.sweep_.get();
  if (!sweep) return nullptr;
  // The first lookup (a page may start anywhere) and one that goes back
  // search; the rest of a walk in domid order steps.
  if (!positioned_ || (next_ > 0 && (*sweep)[next_ - 1].domid >= domid)) {
    next_ = static_cast<size_t>(
        std::lower_bound(sweep->begin(), sweep->end(), domid,
                         [](const xen::DomainInfo& info, uint32_t d) {
                           return info.domid < d;
                         }) -
        sweep->begin());
    positioned_ = true;
  }
  while (next_ < sweep->size() && (*sweep)[next_].domid < domid) ++next_;
  if (next_ < sweep->size() && (*sweep)[next_].domid == domid) {
    return &(*sweep)[next_++];
  }
  return nullptr;
}

void VolatileView::Cursor::Merge(v1::Domain* domain) {
  if (const xen::DomainInfo* info = Find(domain->domid())) {
    FillVolatile(*info, domain);
  }
}

}  // namespace xenlet::store

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

void CopyVolatile(const v1::Domain& from, v1::Domain* out) {
  out->mutable_flags()->set_running(from.flags().running());
  out->mutable_flags()->set_blocked(from.flags().blocked());
  out->set_vcpus_online(from.vcpus_online());
  out->set_cpu_time_ns(from.cpu_time_ns());
  v1::DomainMemory* memory = out->mutable_memory();
  memory->set_current_bytes(from.memory().current_bytes());
  memory->set_shared_bytes(from.memory().shared_bytes());
  memory->set_outstanding_bytes(from.memory().outstanding_bytes());
}

void ClearVolatile(v1::Domain* domain) {
  CopyVolatile(v1::Domain::default_instance(), domain);
}

namespace {

// The index of the first entry at or above domid (the sweep is sorted).
size_t LowerBound(const SweepBuffer& sweep, uint32_t domid) {
  return static_cast<size_t>(
      std::lower_bound(sweep.begin(), sweep.end(), domid,
                       [](const xen::DomainInfo& info, uint32_t d) {
                         return info.domid < d;
                       }) -
      sweep.begin());
}

}  // namespace

VolatileView::VolatileView(std::shared_ptr<const SweepBuffer> sweep)
    : sweep_(std::move(sweep)) {}

const xen::DomainInfo* VolatileView::Find(uint32_t domid) const {
  if (!sweep_) return nullptr;
  const size_t i = LowerBound(*sweep_, domid);
  return i < sweep_->size() && (*sweep_)[i].domid == domid ? &(*sweep_)[i]
                                                           : nullptr;
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
    next_ = LowerBound(*sweep, domid);
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

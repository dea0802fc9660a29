#include "store/volatile_view.h"

#include <algorithm>

namespace xenlet::store {

namespace {

// The one list of the volatile fields: what a sweep refreshes.
void SetVolatile(bool running, bool blocked, uint32_t vcpus_online,
                 uint64_t cpu_time_ns, uint64_t current_bytes,
                 uint64_t shared_bytes, uint64_t outstanding_bytes,
                 v1::Domain* out) {
  out->mutable_flags()->set_running(running);
  out->mutable_flags()->set_blocked(blocked);
  out->set_vcpus_online(vcpus_online);
  out->set_cpu_time_ns(cpu_time_ns);
  v1::DomainMemory* memory = out->mutable_memory();
  memory->set_current_bytes(current_bytes);
  memory->set_shared_bytes(shared_bytes);
  memory->set_outstanding_bytes(outstanding_bytes);
}

}  // namespace

void FillVolatile(const xen::DomainInfo& info, v1::Domain* out) {
  SetVolatile(info.running, info.blocked, info.nr_online_vcpus,
              info.cpu_time_ns, info.tot_pages * xen::kPageSize,
              info.shr_pages * xen::kPageSize,
              info.outstanding_pages * xen::kPageSize, out);
}

void CopyVolatile(const v1::Domain& from, v1::Domain* out) {
  SetVolatile(from.flags().running(), from.flags().blocked(),
              from.vcpus_online(), from.cpu_time_ns(),
              from.memory().current_bytes(), from.memory().shared_bytes(),
              from.memory().outstanding_bytes(), out);
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

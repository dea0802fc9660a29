// The volatile fields of every domain (cpu time, current, shared and
// outstanding memory, vCPUs online, running/blocked) as the last sweep read
// them. The view is the sweep's own buffer, shared by every snapshot
// published from that sweep: a sweep in which every domain's cpu time moved
// copies no Domain message and makes no event. The Domain messages in a
// snapshot keep the values of their last event; whoever answers with one
// merges the view's values in (Merge, or a Cursor for a walk in domid
// order), so queries and STATS events are as fresh as the last sweep.
#ifndef XENLET_STORE_VOLATILE_VIEW_H_
#define XENLET_STORE_VOLATILE_VIEW_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "xen/types.h"
#include "xenlet/v1/domain.pb.h"

namespace xenlet::store {

using SweepBuffer = std::vector<xen::DomainInfo>;

// Sets the volatile fields of out from info.
void FillVolatile(const xen::DomainInfo& info, v1::Domain* out);
// Sets the volatile fields of out from a message's own.
void CopyVolatile(const v1::Domain& from, v1::Domain* out);
// Clears them (to proto3's defaults, which the wire form leaves out).
void ClearVolatile(v1::Domain* domain);

class VolatileView {
 public:
  VolatileView() = default;  // nothing swept: Merge changes nothing
  // sweep: sorted by domid, as XEN_SYSCTL_getdomaininfolist returns it
  // (Xen keeps its domain list in domid order); never changed again.
  explicit VolatileView(std::shared_ptr<const SweepBuffer> sweep);

  // This domid's entry in the sweep, or null.
  const xen::DomainInfo* Find(uint32_t domid) const;
  // Overwrites domain's volatile fields with the sweep's (if it has it).
  void Merge(v1::Domain* domain) const;
  size_t size() const { return sweep_ ? sweep_->size() : 0; }

  // Finds entries for ascending domids in amortised O(1): for walks.
  class Cursor {
   public:
    explicit Cursor(const VolatileView& view) : view_(view) {}
    const xen::DomainInfo* Find(uint32_t domid);
    void Merge(v1::Domain* domain);

   private:
    const VolatileView& view_;
    size_t next_ = 0;  // the entry after the last found
    bool positioned_ = false;
  };

 private:
  std::shared_ptr<const SweepBuffer> sweep_;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_VOLATILE_VIEW_H_

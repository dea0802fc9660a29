// The domains a watch stream has told the client about, applied event by
// event: what list --watch draws. Not thread-safe (its owner locks).
#ifndef XENLET_TOOLS_XENLETCTL_LIVE_DOMAINS_H_
#define XENLET_TOOLS_XENLETCTL_LIVE_DOMAINS_H_

#include <cstdint>
#include <map>
#include <string>

#include "xenlet/v1/domain.pb.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::ctl {

class LiveDomains {
 public:
  // The current state follows (an initial state, or an inline resync):
  // what is held is dropped, and it is incomplete until the next SYNCED.
  void BeginSnapshot();

  // Returns whether what is held changed, or became complete (SYNCED).
  // RESYNC_REQUIRED begins a snapshot. The event's domain must carry its
  // domid (a read_mask must keep it).
  bool Apply(const xenlet::v1::WatchDomainsResponse& event);

  // Whether the domains are the agent's state as of revision(): false
  // before the first SYNCED and during a snapshot.
  bool synced() const { return synced_; }
  // By domid.
  const std::map<uint32_t, xenlet::v1::Domain>& domains() const {
    return domains_;
  }
  // The last point applied that a watch could resume from.
  const std::string& instance_id() const { return instance_id_; }
  uint64_t revision() const { return revision_; }

 private:
  std::map<uint32_t, xenlet::v1::Domain> domains_;
  // The revision each held domain was last set at: a STATS message comes
  // from a snapshot, which a newer event may have overtaken.
  std::map<uint32_t, uint64_t> revisions_;
  bool synced_ = false;
  std::string instance_id_;
  uint64_t revision_ = 0;
};

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_LIVE_DOMAINS_H_

#include "tools/xenletctl/live_domains.h"

namespace xenlet::ctl {

using xenlet::v1::WatchDomainsResponse;

void LiveDomains::BeginSnapshot() {
  domains_.clear();
  revisions_.clear();
  synced_ = false;
}

bool LiveDomains::Apply(const WatchDomainsResponse& event) {
  const uint32_t domid = event.domain().domid();
  // Resume points only (see WatchDomainsResponse): the snapshot's ADDED
  // events, coalesced events and STATS are not.
  auto mark = [&] {
    instance_id_ = event.instance_id();
    revision_ = event.revision();
  };
  switch (event.type()) {
    case xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED:
      BeginSnapshot();
      return false;
    case xenlet::v1::EVENT_TYPE_SYNCED:
      synced_ = true;
      mark();
      return true;
    case xenlet::v1::EVENT_TYPE_BOOKMARK:
      mark();
      return false;
    case xenlet::v1::EVENT_TYPE_ADDED:
    case xenlet::v1::EVENT_TYPE_MODIFIED:
      // A coalesced ADDED replaces whatever was held at the domid, and a
      // MODIFIED of a domain not held yet is the one to hold: both upsert.
      domains_[domid] = event.domain();
      revisions_[domid] = event.revision();
      if (synced_ && !event.coalesced()) mark();
      return true;
    case xenlet::v1::EVENT_TYPE_DELETED:
      domains_.erase(domid);
      revisions_.erase(domid);
      if (synced_ && !event.coalesced()) mark();
      return true;
    case xenlet::v1::EVENT_TYPE_STATS: {
      // Fresh volatile fields of a domain held; never resurrects one.
      auto it = domains_.find(domid);
      if (it == domains_.end()) return false;
      // Older than what is held: a newer event overtook the STATS round.
      if (event.revision() < revisions_[domid]) return false;
      it->second = event.domain();
      revisions_[domid] = event.revision();
      return true;
    }
    default:
      return false;
  }
}

}  // namespace xenlet::ctl

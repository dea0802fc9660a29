#include "store/domain_filter.h"

#include "absl/strings/match.h"
#include "store/uuid.h"

namespace xenlet::store {

DomainFilter::DomainFilter(const v1::DomainFilter& proto)
    : domids_(proto.domids().begin(), proto.domids().end()),
      name_prefix_(proto.name_prefix()),
      states_(proto.states().begin(), proto.states().end()) {
  for (const std::string& uuid : proto.uuids()) {
    if (auto canonical = CanonicalUuid(uuid)) uuids_.insert(*canonical);
  }
  everything_ = domids_.empty() && proto.uuids().empty() &&
                name_prefix_.empty() && states_.empty();
}

bool DomainFilter::Matches(const v1::Domain& domain) const {
  if (everything_) return true;
  if (!domids_.empty() && !domids_.contains(domain.domid())) return false;
  if (!uuids_.empty() && !uuids_.contains(domain.uuid())) return false;
  if (!name_prefix_.empty() && !absl::StartsWith(domain.name(), name_prefix_)) {
    return false;
  }
  if (!states_.empty() && !states_.contains(domain.state())) return false;
  return true;
}

}  // namespace xenlet::store

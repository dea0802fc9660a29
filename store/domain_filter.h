// A compiled xenlet.v1.DomainFilter: fields set must all match; a repeated
// field matches if any value does.
#ifndef XENLET_STORE_DOMAIN_FILTER_H_
#define XENLET_STORE_DOMAIN_FILTER_H_

#include <string>

#include "absl/container/flat_hash_set.h"
#include "xenlet/v1/domain.pb.h"

namespace xenlet::store {

class DomainFilter {
 public:
  DomainFilter() = default;  // matches everything
  // The filter must be valid (agent/request_validation checks it).
  explicit DomainFilter(const v1::DomainFilter& proto);

  bool Matches(const v1::Domain& domain) const;
  bool matches_everything() const { return everything_; }

 private:
  bool everything_ = true;
  absl::flat_hash_set<uint32_t> domids_;
  absl::flat_hash_set<std::string> uuids_;  // canonical
  std::string name_prefix_;
  absl::flat_hash_set<int> states_;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_DOMAIN_FILTER_H_

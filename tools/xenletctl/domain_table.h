// The domain columns of list and get. The default layout fits an 80-column
// terminal with 20-character names; --wide adds the UUID, memory limits,
// cpupool, XSM label and hypervisor flags.
#ifndef XENLET_TOOLS_XENLETCTL_DOMAIN_TABLE_H_
#define XENLET_TOOLS_XENLETCTL_DOMAIN_TABLE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "google/protobuf/field_mask.pb.h"
#include "tools/xenletctl/table.h"
#include "xenlet/v1/domain.pb.h"

namespace xenlet::ctl {

enum class DomainLayout { kNarrow, kWide };

// DOMID NAME STATE REASON VCPUS MEM CPUTIME; wide:
// DOMID NAME UUID STATE REASON VCPUS MEM MAXMEM TARGET CPUTIME POOL SSIDREF
// FLAGS.
std::vector<std::string> DomainHeader(DomainLayout layout);

// One cell per DomainHeader column. A column whose field the mask leaves out
// is "-" (an absent field would otherwise print as 0 and mislead). Empty
// mask: all.
std::vector<std::string> DomainRow(const xenlet::v1::Domain& domain,
                                   const google::protobuf::FieldMask& mask,
                                   DomainLayout layout);

// Right-aligns the numeric domain columns of `table`, whose domain columns
// start at column `first`.
void AlignDomainColumns(Table& table, size_t first, DomainLayout layout);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_DOMAIN_TABLE_H_

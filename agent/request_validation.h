// Checks every request field before a method does any work. A bad field is
// INVALID_ARGUMENT with a message that starts with the field's path, e.g.
// "selectors[2].domid: 40000 is not a domid (0..32751)".
#ifndef XENLET_AGENT_REQUEST_VALIDATION_H_
#define XENLET_AGENT_REQUEST_VALIDATION_H_

#include "absl/status/status.h"
#include "xenlet/v1/control_service.pb.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::agent {

inline constexpr int kMaxPageSize = 10000;
inline constexpr int kDefaultPageSize = 1000;
inline constexpr int kMaxGetSelectors = 10000;
inline constexpr int kMaxControlSelectors = 1000;
inline constexpr int kMaxXenstorePaths = 1000;
inline constexpr int kMaxXenstorePathLength = 3072;  // xenstored's limit

absl::Status ValidateListDomains(const v1::ListDomainsRequest& request);
absl::Status ValidateGetDomains(const v1::GetDomainsRequest& request);
absl::Status ValidateWatchDomains(const v1::WatchDomainsRequest& request);
absl::Status ValidateReadXenstore(const v1::ReadXenstoreRequest& request);
absl::Status ValidatePauseDomains(const v1::PauseDomainsRequest& request);
absl::Status ValidateUnpauseDomains(const v1::UnpauseDomainsRequest& request);
absl::Status ValidateShutdownDomains(const v1::ShutdownDomainsRequest& request);
absl::Status ValidateDestroyDomains(const v1::DestroyDomainsRequest& request);

// A syntactically valid absolute xenstore path (not whether it is allowed).
absl::Status ValidateXenstorePath(std::string_view path,
                                  std::string_view field_name);

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_REQUEST_VALIDATION_H_

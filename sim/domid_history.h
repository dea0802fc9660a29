// libxl's domid history (libxl__mark_domid_recent, libxl__is_domid_recent):
// the domids destroyed on a host and when, so that none is given to a new
// domain within LIBXL_DOMID_REUSE_TIMEOUT of its destruction. A file in
// libxl's format ("<CLOCK_MONOTONIC seconds> <domid>" per line), locked
// with flock, shared by every toolstack of one simulated host.
#ifndef XENLET_SIM_DOMID_HISTORY_H_
#define XENLET_SIM_DOMID_HISTORY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "xen/types.h"

namespace xenlet::sim {

class DomidHistory {
 public:
  // A zero timeout keeps no history: every domid may be given at once.
  DomidHistory(std::string path, absl::Duration timeout)
      : path_(std::move(path)), timeout_(timeout) {}

  // Whether domid was destroyed less than the timeout ago.
  absl::StatusOr<bool> RecentlyUsed(xen::Domid domid) const;
  // Records domid as destroyed now, dropping entries past the timeout.
  absl::Status Mark(xen::Domid domid) const;

  const std::string& path() const { return path_; }
  absl::Duration timeout() const { return timeout_; }

 private:
  uint64_t TimeoutSeconds() const;
  const std::string path_;
  const absl::Duration timeout_;
};

}  // namespace xenlet::sim

#endif  // XENLET_SIM_DOMID_HISTORY_H_

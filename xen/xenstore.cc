#include "xen/xenstore.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace xenlet::xen {

absl::Status RunTransaction(
    XenstoreClient& client,
    const std::function<absl::Status(XenstoreTransaction&)>& body,
    const RetryPolicy& policy, int* attempts) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  absl::Duration backoff = policy.initial_backoff;
  absl::Status last;
  int attempt = 0;
  while (attempt < std::max(1, policy.max_attempts)) {
    ++attempt;
    if (attempts) *attempts = attempt;
    auto txn = client.BeginTransaction();
    if (!txn.ok()) return txn.status();
    absl::Status status = body(**txn);
    if (status.ok()) status = (*txn)->Commit();
    if (!status.ok()) (*txn)->Abort();
    if (status.code() != absl::StatusCode::kAborted) return status;
    last = status;
    // Conflicts come from concurrent writers of the same nodes; spreading
    // the retries out keeps them from colliding again in lockstep.
    std::uniform_int_distribution<int64_t> spread(
        0, absl::ToInt64Microseconds(backoff));
    absl::SleepFor(absl::Microseconds(spread(jitter)));
    backoff = std::min(backoff * 2, policy.max_backoff);
  }
  return absl::AbortedError(absl::StrCat("transaction still conflicting after ",
                                         attempt,
                                         " attempts: ", last.message()));
}

std::string DomainPath(Domid domid) {
  return absl::StrCat("/local/domain/", domid);
}

}  // namespace xenlet::xen

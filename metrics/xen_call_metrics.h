// Counts every hypercall and xenstore request the agent makes, at the one
// place each is made (the xen/ implementations call this observer), and
// exports the counts to Prometheus. Every label value comes from a fixed
// set (kinds, operations, outcomes, errno names), created up front so the
// hot path is an atomic add on a pre-resolved counter.
#ifndef XENLET_METRICS_XEN_CALL_METRICS_H_
#define XENLET_METRICS_XEN_CALL_METRICS_H_

#include <array>
#include <atomic>
#include <memory>

#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "xen/call_observer.h"

namespace xenlet::metrics {

class XenCallMetrics : public xen::CallObserver {
 public:
  explicit XenCallMetrics(prometheus::Registry& registry);

  void OnHypercall(xen::HypercallKind kind, int err,
                   int64_t duration_ns) override;
  void OnXenstoreRequest(xen::XenstoreOp op, int err) override;
  void OnTransactionEnd(xen::TransactionOutcome outcome) override;
  void OnWatchEvent() override;

  uint64_t hypercalls_total() const { return hypercalls_; }
  uint64_t hypercalls(xen::HypercallKind kind) const;
  uint64_t xenstore_requests_total() const { return requests_; }
  uint64_t xenstore_requests(xen::XenstoreOp op) const;
  uint64_t transactions_total() const { return transactions_; }
  uint64_t watch_events_total() const { return watch_events_; }

 private:
  static constexpr size_t kKinds =
      static_cast<size_t>(xen::HypercallKind::kCount);
  static constexpr size_t kOps = static_cast<size_t>(xen::XenstoreOp::kCount);
  static constexpr size_t kOutcomes =
      static_cast<size_t>(xen::TransactionOutcome::kCount);

  prometheus::Family<prometheus::Counter>& hypercall_errors_;
  prometheus::Family<prometheus::Counter>& xenstore_errors_;
  std::array<prometheus::Counter*, kKinds> hypercall_counters_{};
  std::array<prometheus::Histogram*, kKinds> hypercall_seconds_{};
  std::array<prometheus::Counter*, kOps> request_counters_{};
  std::array<prometheus::Counter*, kOutcomes> transaction_counters_{};
  prometheus::Counter* watch_event_counter_;
  std::array<std::atomic<uint64_t>, kKinds> by_kind_{};
  std::array<std::atomic<uint64_t>, kOps> by_op_{};
  std::atomic<uint64_t> hypercalls_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> transactions_{0};
  std::atomic<uint64_t> watch_events_{0};
};

// "EINVAL", "ESRCH", ... for the errnos Xen's libraries report; "other"
// beyond them, so that the label stays bounded.
const char* ErrnoName(int err);

}  // namespace xenlet::metrics

#endif  // XENLET_METRICS_XEN_CALL_METRICS_H_

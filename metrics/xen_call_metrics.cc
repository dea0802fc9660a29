#include "metrics/xen_call_metrics.h"

#include <cerrno>

namespace xenlet::metrics {

const char* ErrnoName(int err) {
  switch (err) {
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case ESRCH:
      return "ESRCH";
    case EIO:
      return "EIO";
    case EBADF:
      return "EBADF";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case EFAULT:
      return "EFAULT";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case EINVAL:
      return "EINVAL";
    case ENOSPC:
      return "ENOSPC";
    case EPIPE:
      return "EPIPE";
    case E2BIG:
      return "E2BIG";
    case ENOSYS:
      return "ENOSYS";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case EOVERFLOW:
      return "EOVERFLOW";
    case ECONNRESET:
      return "ECONNRESET";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case EDQUOT:
      return "EDQUOT";
    default:
      return "other";
  }
}

XenCallMetrics::XenCallMetrics(prometheus::Registry& registry)
    : hypercall_errors_(prometheus::BuildCounter()
                            .Name("xenlet_hypercall_errors_total")
                            .Help("Hypercalls that failed, by kind and errno.")
                            .Register(registry)),
      xenstore_errors_(
          prometheus::BuildCounter()
              .Name("xenlet_xenstore_request_errors_total")
              .Help("xenstore requests that failed, by operation and errno "
                    "(ENOENT for a missing node is an answer, not a fault).")
              .Register(registry)) {
  auto& hypercalls = prometheus::BuildCounter()
                         .Name("xenlet_hypercalls_total")
                         .Help("Hypercalls made by the agent, by kind.")
                         .Register(registry);
  auto& seconds = prometheus::BuildHistogram()
                      .Name("xenlet_hypercall_duration_seconds")
                      .Help("Time from issuing a hypercall to its answer.")
                      .Register(registry);
  const prometheus::Histogram::BucketBoundaries buckets = {
      1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 2e-3, 1e-2, 5e-2, 0.25, 1};
  for (size_t i = 0; i < kKinds; ++i) {
    const char* kind =
        xen::HypercallKindName(static_cast<xen::HypercallKind>(i));
    hypercall_counters_[i] = &hypercalls.Add({{"kind", kind}});
    hypercall_seconds_[i] = &seconds.Add({{"kind", kind}}, buckets);
  }
  auto& requests = prometheus::BuildCounter()
                       .Name("xenlet_xenstore_requests_total")
                       .Help(
                           "xenstore requests made by the agent, by "
                           "operation (one per message to xenstored).")
                       .Register(registry);
  for (size_t i = 0; i < kOps; ++i) {
    request_counters_[i] = &requests.Add(
        {{"op", xen::XenstoreOpName(static_cast<xen::XenstoreOp>(i))}});
  }
  auto& transactions =
      prometheus::BuildCounter()
          .Name("xenlet_xenstore_transactions_total")
          .Help(
              "xenstore transactions ended by the agent, by outcome: "
              "committed, conflict (EAGAIN at commit), aborted, error.")
          .Register(registry);
  for (size_t i = 0; i < kOutcomes; ++i) {
    transaction_counters_[i] = &transactions.Add(
        {{"outcome", xen::TransactionOutcomeName(
                         static_cast<xen::TransactionOutcome>(i))}});
  }
  watch_event_counter_ =
      &prometheus::BuildCounter()
           .Name("xenlet_xenstore_watch_events_total")
           .Help("xenstore watch events received by the agent.")
           .Register(registry)
           .Add({});
}

void XenCallMetrics::OnHypercall(xen::HypercallKind kind, int err,
                                 int64_t duration_ns) {
  const size_t i = static_cast<size_t>(kind);
  if (i >= kKinds) return;
  hypercall_counters_[i]->Increment();
  hypercall_seconds_[i]->Observe(duration_ns / 1e9);
  by_kind_[i].fetch_add(1, std::memory_order_relaxed);
  hypercalls_.fetch_add(1, std::memory_order_relaxed);
  if (err != 0) {
    // Rare: the family's lookup (a mutex and a hash) is fine here.
    hypercall_errors_
        .Add(
            {{"kind", xen::HypercallKindName(kind)}, {"errno", ErrnoName(err)}})
        .Increment();
  }
}

void XenCallMetrics::OnXenstoreRequest(xen::XenstoreOp op, int err) {
  const size_t i = static_cast<size_t>(op);
  if (i >= kOps) return;
  request_counters_[i]->Increment();
  by_op_[i].fetch_add(1, std::memory_order_relaxed);
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (err != 0 && err != ENOENT) {
    xenstore_errors_
        .Add({{"op", xen::XenstoreOpName(op)}, {"errno", ErrnoName(err)}})
        .Increment();
  }
}

void XenCallMetrics::OnTransactionEnd(xen::TransactionOutcome outcome) {
  const size_t i = static_cast<size_t>(outcome);
  if (i >= kOutcomes) return;
  transaction_counters_[i]->Increment();
  transactions_.fetch_add(1, std::memory_order_relaxed);
}

void XenCallMetrics::OnWatchEvent() {
  watch_event_counter_->Increment();
  watch_events_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t XenCallMetrics::hypercalls(xen::HypercallKind kind) const {
  const size_t i = static_cast<size_t>(kind);
  return i < kKinds ? by_kind_[i].load() : 0;
}

uint64_t XenCallMetrics::xenstore_requests(xen::XenstoreOp op) const {
  const size_t i = static_cast<size_t>(op);
  return i < kOps ? by_op_[i].load() : 0;
}

}  // namespace xenlet::metrics

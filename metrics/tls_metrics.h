// The TCP listener's certificate: reloads by outcome, and when the served
// certificate expires (an alert can fire well before it does).
#ifndef XENLET_METRICS_TLS_METRICS_H_
#define XENLET_METRICS_TLS_METRICS_H_

#include <string>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace xenlet::metrics {

class TlsMetrics {
 public:
  explicit TlsMetrics(prometheus::Registry& registry);

  // outcome: applied, unchanged, refused.
  void RecordReload(const std::string& outcome);
  void SetNotAfter(double unix_seconds);

 private:
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Gauge& not_after_;
};

}  // namespace xenlet::metrics

#endif  // XENLET_METRICS_TLS_METRICS_H_

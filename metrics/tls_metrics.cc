#include "metrics/tls_metrics.h"

namespace xenlet::metrics {

TlsMetrics::TlsMetrics(prometheus::Registry& registry)
    : reloads_(prometheus::BuildCounter()
                   .Name("xenlet_tls_reloads_total")
                   .Help("Reloads of the TLS files (SIGHUP or "
                         "--tls-reload-seconds), by outcome: applied, "
                         "unchanged, refused (a bad file; the old "
                         "certificate stays served).")
                   .Register(registry)),
      not_after_(prometheus::BuildGauge()
                     .Name("xenlet_tls_certificate_expiry_timestamp_seconds")
                     .Help("When the served TLS certificate expires (unix "
                           "seconds).")
                     .Register(registry)
                     .Add({})) {}

void TlsMetrics::RecordReload(const std::string& outcome) {
  reloads_.Add({{"outcome", outcome}}).Increment();
}

void TlsMetrics::SetNotAfter(double unix_seconds) {
  not_after_.Set(unix_seconds);
}

}  // namespace xenlet::metrics

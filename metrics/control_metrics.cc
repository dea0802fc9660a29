#include "metrics/control_metrics.h"

namespace xenlet::metrics {

ControlMetrics::ControlMetrics(prometheus::Registry& registry)
    : items_(prometheus::BuildCounter()
                 .Name("xenlet_control_actions_total")
                 .Help("Domains ControlService was asked to act on, by method, "
                       "outcome (done, not_found, already, refused, failed) "
                       "and whether the hypervisor fallback was used.")
                 .Register(registry)),
      denied_(prometheus::BuildCounter()
                  .Name("xenlet_control_denied_total")
                  .Help("ControlService calls refused before acting (the "
                        "caller is not authorised), by method.")
                  .Register(registry)) {}

void ControlMetrics::RecordItem(const std::string& method,
                                const std::string& outcome, bool forced) {
  items_
      .Add({{"method", method},
            {"outcome", outcome},
            {"forced", forced ? "true" : "false"}})
      .Increment();
}

void ControlMetrics::RecordDenied(const std::string& method) {
  denied_.Add({{"method", method}}).Increment();
}

}  // namespace xenlet::metrics

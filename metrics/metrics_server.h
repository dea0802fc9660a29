// The Prometheus pull endpoint (/metrics), on loopback by default.
#ifndef XENLET_METRICS_METRICS_SERVER_H_
#define XENLET_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"

namespace xenlet::metrics {

class MetricsServer {
 public:
  // address: "HOST:PORT" (port 0 picks one). UNAVAILABLE if it cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address,
      const std::vector<std::shared_ptr<prometheus::Collectable>>& sources);

  int port() const { return port_; }

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<std::shared_ptr<prometheus::Collectable>> sources_;
  int port_ = 0;
};

}  // namespace xenlet::metrics

#endif  // XENLET_METRICS_METRICS_SERVER_H_

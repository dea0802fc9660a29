#include "metrics/metrics_server.h"

#include <exception>

#include "absl/strings/str_cat.h"

namespace xenlet::metrics {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address,
    const std::vector<std::shared_ptr<prometheus::Collectable>>& sources) {
  auto server = std::make_unique<MetricsServer>();
  try {
    // civetweb takes "HOST:PORT"; one thread is plenty for a scrape every
    // few seconds.
    server->exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "--metrics-address: cannot listen on ", address, ": ", e.what()));
  }
  server->sources_ = sources;
  for (const auto& source : server->sources_) {
    server->exposer_->RegisterCollectable(source);
  }
  std::vector<int> ports = server->exposer_->GetListeningPorts();
  server->port_ = ports.empty() ? 0 : ports.front();
  return server;
}

}  // namespace xenlet::metrics

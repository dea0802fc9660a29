// gRPC requests and their latency, by method and status code, counted by a
// server interceptor so that no handler can forget to.
#ifndef XENLET_METRICS_GRPC_METRICS_H_
#define XENLET_METRICS_GRPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace xenlet::metrics {

class GrpcMetrics {
 public:
  explicit GrpcMetrics(prometheus::Registry& registry);

  // For ServerBuilder::experimental().SetInterceptorCreators().
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory();

  // method: "/package.Service/Method"; streams count when they end.
  void Record(const std::string& method, grpc::StatusCode code, double seconds);

 private:
  const std::string& MethodLabel(const std::string& method) const;

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  const absl::flat_hash_set<std::string> known_methods_;
};

}  // namespace xenlet::metrics

#endif  // XENLET_METRICS_GRPC_METRICS_H_

#include "metrics/grpc_metrics.h"

#include <chrono>

#include "absl/status/status.h"

namespace xenlet::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info,
                     GrpcMetrics* metrics)
      : method_(info->method() ? info->method() : ""),
        metrics_(metrics),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      std::chrono::duration<double> elapsed =
          std::chrono::steady_clock::now() - start_;
      metrics_->Record(method_, methods->GetSendStatus().error_code(),
                       elapsed.count());
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  GrpcMetrics* const metrics_;
  const std::chrono::steady_clock::time_point start_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(GrpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_);
  }

 private:
  GrpcMetrics* const metrics_;
};

}  // namespace

GrpcMetrics::GrpcMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("xenlet_grpc_requests_total")
                    .Help("gRPC calls answered, by method and status code "
                          "(streams when they end).")
                    .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("xenlet_grpc_request_duration_seconds")
                   .Help("Time from a call's start to its status, by method.")
                   .Register(registry)),
      known_methods_({
          "/xenlet.v1.DomainService/ListDomains",
          "/xenlet.v1.DomainService/GetDomains",
          "/xenlet.v1.DomainService/WatchDomains",
          "/xenlet.v1.DomainService/ReadXenstore",
          "/xenlet.v1.HostService/GetHost",
          "/xenlet.v1.ControlService/PauseDomains",
          "/xenlet.v1.ControlService/UnpauseDomains",
          "/xenlet.v1.ControlService/ShutdownDomains",
          "/xenlet.v1.ControlService/DestroyDomains",
          "/grpc.health.v1.Health/Check",
          "/grpc.health.v1.Health/Watch",
          "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      }) {}

const std::string& GrpcMetrics::MethodLabel(const std::string& method) const {
  // Any other name is a client's invention: keep the label set bounded.
  static const std::string other = "other";
  auto it = known_methods_.find(method);
  return it == known_methods_.end() ? other : *it;
}

void GrpcMetrics::Record(const std::string& method, grpc::StatusCode code,
                         double seconds) {
  const std::string& label = MethodLabel(method);
  requests_
      .Add({{"method", label},
            {"code",
             absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}})
      .Increment();
  static const prometheus::Histogram::BucketBoundaries buckets = {
      1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300, 3600};
  seconds_.Add({{"method", label}}, buckets).Observe(seconds);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcMetrics::InterceptorFactory() {
  return std::make_unique<Factory>(this);
}

}  // namespace xenlet::metrics

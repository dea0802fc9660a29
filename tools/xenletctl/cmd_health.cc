// health: grpc.health.v1.Health/Check.
#include <memory>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/errors.h"

namespace xenlet::ctl {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

int RunHealth(const GlobalOptions& global, const HealthOptions& options,
              std::ostream& out, std::ostream& err) {
  auto channel = MakeChannel(global.connection);
  if (!channel.ok()) return ReportUsageError(err, "health", channel.status());
  auto stub = grpc::health::v1::Health::NewStub(*channel);

  HealthCheckRequest request;
  request.set_service(options.service);
  HealthCheckResponse response;
  grpc::ClientContext context;
  SetDeadline(context, global.timeout_seconds);
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return ReportRpcError(err, "Check", status, global.connection);
  }

  if (global.json) {
    out << ToJson(response) << '\n';
  } else {
    out << HealthCheckResponse::ServingStatus_Name(response.status()) << '\n';
  }
  return response.status() == HealthCheckResponse::SERVING ? kExitOk
                                                           : kExitNegative;
}

Command AddHealthCommand(CLI::App& root, const GlobalOptions& global) {
  auto options = std::make_shared<HealthOptions>();
  CLI::App* cmd = root.add_subcommand(
      "health",
      "Check the agent's health (grpc.health.v1.Health/Check). Exit code 0 "
      "only if SERVING, 3 otherwise.");
  cmd->add_option("--service", options->service,
                  "Fully qualified service to check, e.g. "
                  "xenlet.v1.DomainService; empty: the whole server");
  return {cmd, [&global, options](std::ostream& out, std::ostream& err) {
            return RunHealth(global, *options, out, err);
          }};
}

}  // namespace xenlet::ctl

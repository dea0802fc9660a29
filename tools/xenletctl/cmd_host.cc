// host: xenlet.v1.HostService/GetHost.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/table.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet::ctl {
namespace {

using google::protobuf::util::TimeUtil;
using xenlet::v1::Host;

std::string Time(const google::protobuf::Timestamp& t, bool set) {
  return set ? TimeUtil::ToString(t) : "-";
}

std::string Duration(const google::protobuf::Duration& d, bool set) {
  return set ? TimeUtil::ToString(d) : "-";
}

std::vector<std::pair<std::string, std::string>> HostPairs(const Host& host) {
  const auto& phys = host.physinfo();
  const auto& agent = host.agent();
  const auto& sweep = host.sweep();
  const auto& xs = host.xenstore();
  std::string xen =
      absl::StrCat(host.xen_version().major(), ".", host.xen_version().minor(),
                   host.xen_version().extra());
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"xen_version", xen},
      {"xen_capabilities", host.xen_version().capabilities()},
      {"cpus", absl::StrCat(phys.nr_cpus(), " (", phys.nr_sockets(),
                            " sockets x ", phys.cores_per_socket(), " cores x ",
                            phys.threads_per_core(), " threads, ",
                            phys.nr_nodes(), " nodes)")},
      {"cpu_mhz", absl::StrCat(phys.cpu_khz() / 1000)},
      {"memory_total", FormatBytes(phys.total_memory_bytes())},
      {"memory_free", FormatBytes(phys.free_memory_bytes())},
      {"memory_scrub", FormatBytes(phys.scrub_memory_bytes())},
      {"capabilities", absl::StrJoin(phys.capabilities(), " ")},
      {"agent_version", agent.version()},
      {"instance_id", agent.instance_id()},
      {"start_time", Time(agent.start_time(), agent.has_start_time())},
      {"uptime",
       agent.has_uptime()
           ? CompactDuration(absl::Seconds(agent.uptime().seconds()) +
                             absl::Nanoseconds(agent.uptime().nanos()))
           : "-"},
      {"revision", absl::StrCat(agent.revision())},
      {"open_streams", absl::StrCat(agent.open_streams())},
      {"sweep_interval", Duration(sweep.interval(), sweep.has_interval())},
      {"sweep_last_time", Time(sweep.last_time(), sweep.has_last_time())},
      {"sweep_last_duration",
       Duration(sweep.last_duration(), sweep.has_last_duration())},
      {"sweeps_total", absl::StrCat(sweep.sweeps_total())},
      {"sweep_failures_total", absl::StrCat(sweep.failures_total())},
      {"model_stale",
       sweep.stale()
           ? absl::StrCat("yes, since ",
                          Time(sweep.stale_since(), sweep.has_stale_since()),
                          " (", sweep.consecutive_failures(), " failed sweeps",
                          sweep.last_error().empty()
                              ? ""
                              : absl::StrCat(": ", sweep.last_error()),
                          ")")
           : "no"},
      {"sweep_repairs_total", absl::StrCat(sweep.repairs_total())},
      {"hypercalls_total", absl::StrCat(sweep.hypercalls_total())},
      {"xenstore_state", XenstoreStateName(xs.state())},
      {"xenstore_reconnects_total", absl::StrCat(xs.reconnects_total())},
      {"xenstore_transactions_total", absl::StrCat(xs.transactions_total())},
      {"xenstore_requests_total", absl::StrCat(xs.requests_total())},
      {"xenstore_watch_events_total", absl::StrCat(xs.watch_events_total())},
      {"domains_total", absl::StrCat(host.domains_total())},
  };
  for (const auto& count : host.domains_by_state()) {
    pairs.emplace_back(absl::StrCat("domains_", StateName(count.state())),
                       absl::StrCat(count.count()));
  }
  return pairs;
}

}  // namespace

int RunHost(const GlobalOptions& global, std::ostream& out, std::ostream& err) {
  auto channel = MakeChannel(global.connection);
  if (!channel.ok()) return ReportUsageError(err, "host", channel.status());
  auto stub = xenlet::v1::HostService::NewStub(*channel);

  grpc::ClientContext context;
  SetDeadline(context, global.timeout_seconds);
  Host host;
  grpc::Status status =
      stub->GetHost(&context, xenlet::v1::GetHostRequest(), &host);
  if (!status.ok()) {
    return ReportRpcError(err, "GetHost", status, global.connection);
  }

  if (global.json) {
    out << ToJson(host) << '\n';
  } else {
    // Long values (capabilities, a sweep error) wrap within 80 columns.
    RenderKeyValues(HostPairs(host), out, 80);
  }
  return kExitOk;
}

Command AddHostCommand(CLI::App& root, const GlobalOptions& global) {
  CLI::App* cmd =
      root.add_subcommand("host",
                          "Show the hypervisor and the agent: physinfo, Xen "
                          "version, instance id, revision, sweep and xenstore "
                          "statistics (HostService/GetHost)");
  return {cmd, [&global](std::ostream& out, std::ostream& err) {
            return RunHost(global, out, err);
          }};
}

}  // namespace xenlet::ctl

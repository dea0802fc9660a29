// xenlet: the Xen host agent. See README.md.
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/flags.h"
#include "agent/server.h"
#include "agent/version.h"
#include "common/log.h"
#include "metrics/grpc_metrics.h"
#include "metrics/latency_metrics.h"
#include "metrics/metrics_server.h"
#include "metrics/state_collector.h"
#include "metrics/tls_metrics.h"
#include "metrics/xen_call_metrics.h"
#include "prometheus/registry.h"
#include "store/domain_model.h"
#include "xen/hypervisor.h"
#include "xen/libxenstore_client.h"
#include "xen/xenctrl_hypervisor.h"

namespace xenlet::agent {
namespace {

// Signals are taken synchronously by the main thread: blocked before any
// other thread starts, so every thread inherits the mask. SIGTERM and
// SIGINT stop the agent; SIGHUP reloads the TLS files.
sigset_t BlockHandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Waits for a handled signal, or (period > 0) for period to pass: 0.
int WaitForSignal(const sigset_t& signals, int period_seconds) {
  if (period_seconds <= 0) {
    int number = 0;
    sigwait(&signals, &number);
    return number;
  }
  const timespec timeout{period_seconds, 0};
  while (true) {
    int number = sigtimedwait(&signals, nullptr, &timeout);
    if (number > 0) return number;
    if (errno == EAGAIN) return 0;
    // EINTR: a signal outside the set (e.g. from a debugger); wait again.
  }
}

// One reload of the TLS files, logged and counted. A periodic check that
// finds the files unchanged logs nothing.
void ReloadTls(AgentServer& server, metrics::TlsMetrics& metrics,
               std::string_view cause) {
  auto outcome = server.ReloadTls();
  if (!outcome.ok()) {
    metrics.RecordReload("refused");
    LogError("tls_reload_refused",
             {{"cause", cause},
              {"error", std::string(outcome.status().message())},
              {"kept", "the certificate served until now"}});
    return;
  }
  metrics.RecordReload(outcome->changed ? "applied" : "unchanged");
  metrics.SetNotAfter(
      absl::ToDoubleSeconds(outcome->not_after - absl::UnixEpoch()));
  if (outcome->changed || cause == "SIGHUP") {
    LogInfo(
        outcome->changed ? "tls_reloaded" : "tls_unchanged",
        {{"cause", cause},
         {"subject", outcome->subject},
         {"not_after", absl::FormatTime(absl::RFC3339_sec, outcome->not_after,
                                        absl::UTCTimeZone())}});
  }
}

int Run(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's
  // deadlock detector on: it records every nested acquisition in a global
  // graph, and halved a watch stream's event rate (BENCHMARKS.md,
  // section 9). The tests keep it; the agent does not pay for it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  AgentConfig config;
  std::unique_ptr<CLI::App> app = MakeAgentApp(&config);
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app->exit(e);
  }
  if (auto s = FinishConfig(&config); !s.ok()) {
    std::fprintf(stderr, "xenlet: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  ConfigureLogging(config.parsed_log_level, config.parsed_log_format);
  sigset_t signals = BlockHandledSignals();

  // Xen first: an agent that cannot see the hypervisor has nothing to serve.
  // Every hypercall and xenstore request is counted where it is made.
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::XenCallMetrics calls(*registry);
  metrics::GrpcMetrics grpc_metrics(*registry);
  metrics::ControlMetrics control_metrics(*registry);
  // Only with TLS: an expiry of 0 would read as an expired certificate.
  std::unique_ptr<metrics::TlsMetrics> tls_metrics;
  if (config.server.listeners.tls.enabled()) {
    tls_metrics = std::make_unique<metrics::TlsMetrics>(*registry);
  }
  metrics::LatencyMetrics latency(*registry);
  config.model.on_sweep = [&latency](const store::SweepResult& sweep) {
    latency.ObserveSweep(absl::ToDoubleSeconds(sweep.duration));
  };
  config.server.domains.watch.on_event_sent = [&latency](absl::Duration d) {
    latency.ObserveEventSent(absl::ToDoubleSeconds(d));
  };
  xen::HypervisorOptions hypervisor_options;
  hypervisor_options.domain_list_path = config.parsed_domain_list_path;
  hypervisor_options.observer = &calls;
  auto hypervisor = xen::OpenXenctrlHypervisor(hypervisor_options);
  if (!hypervisor.ok()) {
    LogError("xen_unavailable",
             {{"error", std::string(hypervisor.status().message())},
              {"hint",
               "no Xen here? run against the simulated host: see README.md"}});
    return 1;
  }
  const xen::XenstoreOptions xenstore_options{
      config.xenstore_socket, &calls,
      absl::Seconds(config.xenstore_timeout_seconds)};
  store::DomainModel model(
      hypervisor->get(),
      [xenstore_options] {
        return xen::OpenLibxenstoreClient(xenstore_options);
      },
      config.model);
  if (auto s = model.Start(); !s.ok()) {
    LogError("model_start_failed", {{"error", std::string(s.message())}});
    return 1;
  }
  const xen::XenVersion version = model.host_facts().version;
  LogInfo("model_ready",
          {{"xen_version",
            absl::StrCat(version.major, ".", version.minor, version.extra)},
           {"domains", model.store().snapshot()->domains.size()},
           {"instance", model.store().instance_id()}});

  // Control acts through a handle of its own: the model's belongs to its
  // sweeper thread.
  auto control_hypervisor = xen::OpenXenctrlHypervisor(hypervisor_options);
  if (!control_hypervisor.ok()) {
    LogError("xen_unavailable",
             {{"error", std::string(control_hypervisor.status().message())}});
    return 1;
  }
  Backends backends{&model.store(), &model, &calls, &grpc_metrics,
                    [xenstore_options] {
                      return xen::OpenLibxenstoreClient(xenstore_options);
                    }};
  backends.control_hypervisor = control_hypervisor->get();
  backends.control_metrics = &control_metrics;
  auto server = AgentServer::Start(config.server, backends);
  if (!server.ok()) {
    LogError("server_start_failed",
             {{"error", std::string(server.status().message())}});
    return 1;
  }
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (!config.metrics_address.empty()) {
    AgentServer* agent_server = server->get();
    auto state =
        std::make_shared<metrics::StateCollector>([&model, agent_server] {
          return ReadAgentState(model, *agent_server);
        });
    auto started = metrics::MetricsServer::Start(config.metrics_address,
                                                 {registry, state});
    if (!started.ok()) {
      LogError("metrics_start_failed",
               {{"error", std::string(started.status().message())}});
      return 1;
    }
    metrics_server = std::move(*started);
    LogInfo("metrics_serving", {{"address", config.metrics_address},
                                {"port", metrics_server->port()}});
  }
  LogInfo("serving", {{"version", kVersion},
                      {"socket", (*server)->unix_socket()},
                      {"tcp_port", (*server)->tcp_port()},
                      {"control", config.server.control.enabled}});

  const bool tls = tls_metrics != nullptr;
  if (tls) {
    tls_metrics->SetNotAfter(
        absl::ToDoubleSeconds((*server)->tls_not_after() - absl::UnixEpoch()));
  }
  int signal_number = 0;
  while (true) {
    signal_number = WaitForSignal(signals, tls ? config.tls_reload_seconds : 0);
    if (signal_number == SIGTERM || signal_number == SIGINT) break;
    if (!tls) {
      LogInfo("sighup_ignored", {{"reason", "no TLS files to reload"}});
      continue;
    }
    ReloadTls(**server, *tls_metrics,
              signal_number == SIGHUP ? "SIGHUP" : "periodic");
  }
  LogInfo("shutting_down", {{"signal", strsignal(signal_number)}});
  (*server)->Shutdown(absl::Seconds(config.shutdown_grace_seconds));
  model.Stop();
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace xenlet::agent

int main(int argc, char** argv) { return xenlet::agent::Run(argc, argv); }

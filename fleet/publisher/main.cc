// xenlet-publish: one per host, beside the agent. Follows the local
// agent's WatchDomains and publishes the host's domains and events into
// NATS JetStream for the fleet view (docs/fleet.md). The agent keeps
// working without it: the gRPC API stays the source of truth on the host.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "agent/version.h"
#include "common/log.h"
#include "fleet/fleet_names.h"
#include "fleet/nats_flags.h"
#include "fleet/publisher/nats_sink.h"
#include "fleet/publisher/publish_metrics.h"
#include "fleet/publisher/publisher.h"
#include "metrics/metrics_server.h"

namespace xenlet::fleet {
namespace {

struct Flags {
  std::string socket = "/run/xenlet/xenlet.sock";
  std::string address;
  std::string host_id;
  NatsFlags nats;
  int replicas = 3;
  double publish_timeout = 2;
  double bookmark_interval = 5;
  double checkpoint_interval = 1;
  std::string metrics_address = "127.0.0.1:9465";
  std::string log_level = "info";
  std::string log_format = "text";
};

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

int Run(int argc, char** argv) {
  Flags f;
  CLI::App app(
      "xenlet-publish: publishes this host's domains and events from the "
      "local xenlet agent into NATS JetStream, for the fleet view: bucket "
      "xenlet-domains (key <host>.<uuid>.<domid>, the domain's state), "
      "bucket xenlet-hosts (key <host>, the publisher's health and resume "
      "point), stream XENLET_EVENTS (subject xenlet.events.<host>, one "
      "CloudEvent per change, each stored once). It resumes where it "
      "stopped after a restart of itself, of the agent or of NATS.",
      "xenlet-publish");
  app.set_version_flag("--version", std::string(xenlet::kVersion));
  app.add_option("--socket", f.socket, "The agent's unix socket")
      ->capture_default_str()
      ->group("Agent");
  app.add_option("--address", f.address,
                 "The agent over TCP instead (HOST:PORT, plaintext: "
                 "loopback only)")
      ->group("Agent");
  app.add_option("--host-id", f.host_id,
                 "This host in keys and subjects: letters, digits, '-' and "
                 "'_' (default: the host name, other characters as '_')")
      ->group("Publishing");
  app.add_option("--replicas", f.replicas,
                 "Replicas of the stream and buckets it creates (an "
                 "existing one is used as it is)")
      ->capture_default_str()
      ->check(CLI::Range(1, 5))
      ->group("Publishing");
  app.add_option("--publish-timeout", f.publish_timeout,
                 "Seconds an event's acknowledgement is awaited; then the "
                 "publish is retried with the same message id")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0))
      ->group("Publishing");
  app.add_option("--bookmark-interval", f.bookmark_interval,
                 "Seconds between BOOKMARKs the agent sends an idle stream: "
                 "the health's last_heard is at most this old")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0))
      ->group("Publishing");
  app.add_option("--checkpoint-interval", f.checkpoint_interval,
                 "Seconds between writes of the resume point into the "
                 "host's health (a restart redoes at most this much, "
                 "storing nothing twice)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0))
      ->group("Publishing");
  AddNatsFlags(app, &f.nats);
  app.add_option("--metrics-address", f.metrics_address,
                 "Prometheus endpoint HOST:PORT (empty: none)")
      ->capture_default_str()
      ->group("Operations");
  app.add_option("--log-level", f.log_level, "debug, info, warning or error")
      ->capture_default_str()
      ->group("Operations");
  app.add_option("--log-format", f.log_format, "text or json")
      ->capture_default_str()
      ->group("Operations");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  LogLevel level;
  LogFormat format;
  if (!ParseLogLevel(f.log_level, &level)) {
    std::fprintf(stderr, "xenlet-publish: --log-level: \"%s\" is not a level\n",
                 f.log_level.c_str());
    return 2;
  }
  if (!ParseLogFormat(f.log_format, &format)) {
    std::fprintf(stderr,
                 "xenlet-publish: --log-format: \"%s\" is not text or json\n",
                 f.log_format.c_str());
    return 2;
  }
  ConfigureLogging(level, format);
  if (f.host_id.empty()) f.host_id = HostIdFromHostname(Hostname());
  if (absl::Status s = ValidateHostId(f.host_id); !s.ok()) {
    std::fprintf(stderr, "xenlet-publish: --host-id: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  auto nats_options = MakeConnectionOptions(f.nats);
  if (!nats_options.ok()) {
    std::fprintf(stderr, "xenlet-publish: %s\n",
                 std::string(nats_options.status().message()).c_str());
    return 2;
  }
  if (nats_options->name.empty()) {
    nats_options->name = absl::StrCat("xenlet-publish/", f.host_id);
  }

  // SIGINT and SIGTERM end it; every thread started below inherits the
  // blocked mask, and this one waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::Notification stop;

  auto connection = nats::Connection::Open(*nats_options);
  if (!connection.ok()) {
    LogError("publish_nats_failed",
             {{"error", connection.status().ToString()}});
    return 1;
  }
  NatsSinkOptions sink_options;
  sink_options.replicas = f.replicas;
  sink_options.publish_timeout = absl::Seconds(f.publish_timeout);

  PublisherOptions options;
  options.host = f.host_id;
  options.bookmark_interval = absl::Seconds(f.bookmark_interval);
  options.checkpoint_interval = absl::Seconds(f.checkpoint_interval);
  options.version = std::string(xenlet::kVersion);
  const std::string target = f.address.empty() ? "unix:" + f.socket : f.address;
  auto channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());

  Publisher* running = nullptr;
  absl::Mutex running_mutex;
  std::thread signal_thread([&] {
    int number = 0;
    sigwait(&signals, &number);
    LogInfo("publish_stopping", {{"signal", number}});
    stop.Notify();
    absl::MutexLock lock(&running_mutex);
    if (running != nullptr) running->Stop();
  });

  // The stream and buckets need JetStream: wait for NATS (with backoff)
  // rather than fail, as a publisher started before its cluster would.
  std::unique_ptr<NatsSink> sink;
  absl::Duration delay = absl::Milliseconds(500);
  while (!stop.HasBeenNotified()) {
    auto opened = NatsSink::Open(**connection, sink_options);
    if (opened.ok()) {
      sink = std::move(*opened);
      break;
    }
    LogWarning(
        "publish_nats_not_ready",
        {{"servers", f.nats.server}, {"error", opened.status().ToString()}});
    stop.WaitForNotificationWithTimeout(delay);
    delay = std::min(delay * 2, absl::Seconds(30));
  }

  int exit_code = 0;
  if (sink) {
    Publisher publisher(options, channel, sink.get());
    std::unique_ptr<metrics::MetricsServer> metrics_server;
    if (!f.metrics_address.empty()) {
      auto collector = std::make_shared<PublishCollector>(
          &publisher, [&connection] { return (*connection)->connected(); });
      auto started =
          metrics::MetricsServer::Start(f.metrics_address, {collector});
      if (!started.ok()) {
        LogError("publish_metrics_failed",
                 {{"address", f.metrics_address},
                  {"error", started.status().ToString()}});
        exit_code = 1;
      } else {
        metrics_server = std::move(*started);
        LogInfo("metrics_serving", {{"address", f.metrics_address},
                                    {"port", metrics_server->port()}});
      }
    }
    if (exit_code == 0) {
      {
        absl::MutexLock lock(&running_mutex);
        running = &publisher;
        if (stop.HasBeenNotified()) publisher.Stop();
      }
      LogInfo(
          "publish_started",
          {{"host", f.host_id}, {"agent", target}, {"servers", f.nats.server}});
      if (!publisher.Run().ok()) exit_code = 1;  // logged: publish_conflict
      absl::MutexLock lock(&running_mutex);
      running = nullptr;
    }
  }
  if (!stop.HasBeenNotified()) {
    // Ended without a signal (a setup failure): wake the signal thread.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  return exit_code;
}

}  // namespace
}  // namespace xenlet::fleet

int main(int argc, char** argv) { return xenlet::fleet::Run(argc, argv); }

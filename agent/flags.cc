#include "agent/flags.h"

#include <cstdlib>
#include <istream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "agent/request_validation.h"
#include "agent/version.h"

namespace xenlet::agent {
namespace {

// CLI11's TOML reader, with errors that say which key of which file is
// wrong: every key must be one of the app's long flags (without "--"),
// at the top level (no [section]), and one a file may set.
class FlagFileFormat : public CLI::ConfigTOML {
 public:
  FlagFileFormat(const CLI::App* app, const CLI::Option* config)
      : app_(app), config_(config) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(input);
    const std::vector<std::string>& files = config_->results();
    const std::string file = files.empty() ? "" : files.back();
    std::vector<CLI::ConfigItem> kept;
    for (CLI::ConfigItem& item : items) {
      if (!item.parents.empty()) {
        throw CLI::ConfigError(absl::StrCat(
            "--config ", file, ": [", item.parents.front(),
            "]: sections are not used; write each flag at the top level"));
      }
      const CLI::Option* option = app_->get_option_no_throw("--" + item.name);
      if (option == nullptr) {
        throw CLI::ConfigError(absl::StrCat(
            "--config ", file, ": unknown key \"", item.name,
            "\" (keys are xenlet's long flags without the leading --, "
            "see xenlet --help)"));
      }
      if (!option->get_configurable()) {
        throw CLI::ConfigError(absl::StrCat("--config ", file, ": --",
                                            item.name,
                                            " cannot be set in a flag file"));
      }
      // "name = []": none, which is the default of a list that has none
      // (--control-uid); a list with a default cannot be emptied.
      if (item.inputs.empty()) {
        const std::string def = option->get_default_str();
        if (def.empty() || def == "[]") continue;
        throw CLI::ConfigError(absl::StrCat(
            "--config ", file, ": ", item.name, " = []: --", item.name,
            " cannot be empty (leave it out for its default, ", def, ")"));
      }
      kept.push_back(std::move(item));
    }
    return kept;
  }

 private:
  const CLI::App* const app_;
  const CLI::Option* const config_;
};

}  // namespace

std::unique_ptr<CLI::App> MakeAgentApp(AgentConfig* config) {
  auto app = std::make_unique<CLI::App>(
      "xenlet: the Xen host agent. Keeps an in-memory model of every domain "
      "on this dom0 (xenstore watches plus full-range hypervisor sweeps) and "
      "serves it over gRPC: xenlet.v1.DomainService, HostService and "
      "ControlService, grpc.health.v1.Health and server reflection.",
      "xenlet");
  app->set_version_flag("--version", kVersion);
  app->get_formatter()->column_width(34);
  ListenerOptions& l = config->server.listeners;

  app->add_option("--socket", l.unix_socket,
                  "Unix socket to serve gRPC on; its directory is created "
                  "(mode 0750) if missing and a stale socket is replaced. "
                  "Empty disables it (then --listen is required)")
      ->capture_default_str()
      ->group("Listeners");
  app->add_option("--socket-mode", config->socket_mode_text,
                  "Octal permissions of the unix socket: who may connect")
      ->capture_default_str()
      ->group("Listeners");
  app->add_option("--socket-group", l.socket_group,
                  "Group to give the unix socket (with --socket-mode 0660, "
                  "members of this group may call the agent)")
      ->group("Listeners");
  app->add_option("--listen", l.tcp_address,
                  "Also serve on TCP HOST:PORT. Without TLS only a loopback "
                  "address (127.0.0.1, ::1, localhost) is accepted; port 0 "
                  "picks a free port")
      ->group("Listeners");
  app->add_option("--tls-cert", l.tls.cert_file,
                  "PEM certificate chain for the TCP listener (enables TLS)")
      ->group("Listeners");
  app->add_option("--tls-key", l.tls.key_file, "PEM private key for --tls-cert")
      ->group("Listeners");
  app->add_option("--tls-client-ca", l.tls.client_ca_file,
                  "PEM CA bundle that verifies TCP clients' certificates "
                  "(mutual TLS): a client without one may query, control "
                  "needs an authorised one")
      ->group("Listeners");
  app->add_option("--tls-reload-seconds", config->tls_reload_seconds,
                  "Also re-read the TLS files every N seconds (0: only on "
                  "SIGHUP). Either way the new files are checked first: a "
                  "bad renewal is refused and logged, the old one stays; "
                  "new connections get the new certificate, open streams "
                  "stay up")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str()
      ->group("Listeners");
  app->add_option("--tls-staging-dir", l.tls.staging_parent,
                  "Where the checked copy of the TLS files that is served "
                  "lives (a private 0700 directory is made in it and removed "
                  "at exit); default $TMPDIR or /tmp")
      ->group("Listeners");

  app->add_flag("--enable-control", config->server.control.enabled,
                "Serve ControlService (pause, unpause, shutdown, destroy). "
                "Callers on the unix socket are allowed (see --control-uid); "
                "TCP callers need a client certificate named by "
                "--control-client")
      ->group("Control");
  app->add_option("--control-uid", config->server.control.allowed_uids,
                  "Only these unix-socket callers (by uid, from SO_PEERCRED) "
                  "may use ControlService; repeatable. With neither this nor "
                  "--control-gid, whoever the socket lets connect may")
      ->group("Control");
  app->add_option("--control-gid", config->server.control.allowed_gids,
                  "Unix-socket callers of this (primary) gid may use "
                  "ControlService; repeatable")
      ->group("Control");
  app->add_option("--control-client", config->server.control.allowed_clients,
                  "A TLS client identity (certificate CN or SAN) allowed to "
                  "call ControlService over TCP; repeatable")
      ->group("Control");

  app->add_option("--sweep-interval", config->sweep_interval_seconds,
                  "Seconds between timer sweeps of the hypervisor (one "
                  "getdomaininfolist hypercall over every domid); domains "
                  "introduced or released sweep at once regardless")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0))
      ->group("Model");
  app->add_option("--domain-list-path", config->domain_list_path,
                  "How sweeps call the hypervisor: 'persistent' (libxencall, "
                  "hypercall buffer allocated once) or 'libxenctrl' "
                  "(xc_domain_getinfolist, a buffer bounced per call)")
      ->capture_default_str()
      ->group("Model");
  app->add_option("--xenstore-watch", config->watch_mode,
                  "Watch set: 'subtree' (one watch on /local/domain, "
                  "filtered by the agent) or 'per-domain' (a watch per "
                  "tracked key of each domain)")
      ->capture_default_str()
      ->group("Model");
  app->add_option("--xenstore-keys", config->model.watcher.keys,
                  "Keys under /local/domain/<domid>/ the model tracks and "
                  "serves in Domain.xenstore; repeatable")
      ->capture_default_str()
      ->group("Model");
  app->add_option("--event-log-size", config->model.store.event_log_capacity,
                  "Events kept for resuming watches; a client further "
                  "behind is told to resync")
      ->capture_default_str()
      ->check(CLI::Range(size_t{16}, size_t{10000000}))
      ->group("Model");
  app->add_option("--event-log-mib", config->event_log_mib,
                  "The event log's memory bound, estimated, in MiB: the "
                  "oldest events leave it when either this or "
                  "--event-log-size is reached")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536))
      ->group("Model");
  app->add_option("--watch-queue", config->server.domains.watch.queue_capacity,
                  "Events queued per watch stream before it catches up "
                  "instead: a slow client then gets the newest state of "
                  "each changed domain, the stream keeping a bit per "
                  "domid rather than a copy per event")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->group("Model");
  app->add_option("--max-streams", config->server.domains.limits.max_streams,
                  "Open WatchDomains streams the agent serves at most; "
                  "more are refused with RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->group("Model");
  app->add_option("--max-streams-per-peer",
                  config->server.domains.limits.max_streams_per_peer,
                  "Open WatchDomains streams one peer may hold (a uid on "
                  "the unix socket, an address over TCP); more are refused "
                  "with RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->group("Model");
  app->add_option("--bookmark-interval", config->bookmark_interval_seconds,
                  "Default seconds between BOOKMARK events on an idle watch "
                  "stream (a client may ask for another interval)")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0))
      ->group("Model");

  app->add_option("--metrics-address", config->metrics_address,
                  "HOST:PORT of the Prometheus endpoint (/metrics); loopback "
                  "by default, empty to disable, port 0 picks a free port")
      ->capture_default_str()
      ->group("Metrics");

  app->add_option("--xenstore-read-allow",
                  config->server.domains.xenstore_read_allow,
                  "xenstore subtrees ReadXenstore may read (every path "
                  "outside them is refused); repeatable")
      ->capture_default_str()
      ->group("Xen");
  app->add_option("--xenstore-socket", config->xenstore_socket,
                  "xenstored's unix socket; default: libxenstore's choice "
                  "($XENSTORED_PATH, the standard socket, /dev/xen/xenbus)")
      ->group("Xen");
  app->add_option("--xenstore-timeout", config->xenstore_timeout_seconds,
                  "Seconds a xenstore request may wait for xenstored's "
                  "answer before the connection is taken as lost "
                  "(reconnect, then full resync); 0: wait forever. A "
                  "xenstored that stops answering is found within this; "
                  "the xenbus device has no bound")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0))
      ->group("Xen");

  app->add_option("--shutdown-grace", config->shutdown_grace_seconds,
                  "Seconds that calls in flight get to finish on SIGTERM or "
                  "SIGINT before they are cancelled")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0))
      ->group("Process");
  app->add_option("--log-level", config->log_level,
                  "Least severe log level written: debug, info, warning, "
                  "error")
      ->capture_default_str()
      ->group("Process");
  app->add_option("--log-format", config->log_format,
                  "Log lines as 'text' (event key=value ...) or 'json' (one "
                  "object per line)")
      ->capture_default_str()
      ->group("Process");

  CLI::Option* config_file = app->set_config(
      "--config", "",
      "Read flags from FILE: one 'name = value' per line, name being "
      "a long flag without its -- (sweep-interval = 2, log-format = "
      "\"json\", enable-control = true, xenstore-keys = [\"name\", "
      "\"vm\"], control-uid = [] for none); '#' starts a comment; quote values "
      "with spaces. Flags on "
      "the command line win over the file (a repeatable flag given there "
      "replaces the file's list). An unknown name, a [section] or a "
      "missing file is an error");
  config_file->type_name("FILE")->check(CLI::ExistingFile)->group("Process");
  app->allow_config_extras(CLI::config_extras_mode::error);
  app->config_formatter(
      std::make_shared<FlagFileFormat>(app.get(), config_file));
  return app;
}

absl::Status FinishConfig(AgentConfig* config) {
  char* end = nullptr;
  const std::string& mode = config->socket_mode_text;
  unsigned long value = std::strtoul(mode.c_str(), &end, 8);
  if (mode.empty() || *end != '\0' || value > 0777) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--socket-mode: \"", mode, "\" is not an octal mode such as 0660"));
  }
  config->server.listeners.socket_mode = static_cast<mode_t>(value);
  config->model.store.event_log_max_bytes = size_t{config->event_log_mib} << 20;
  if (!ParseLogLevel(config->log_level, &config->parsed_log_level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log-level: \"", config->log_level,
                     "\" is not one of debug, info, warning, error"));
  }
  if (!ParseLogFormat(config->log_format, &config->parsed_log_format)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log-format: \"", config->log_format, "\" is not text or json"));
  }
  if (config->watch_mode == "subtree") {
    config->model.watcher.mode = store::WatchMode::kSubtree;
  } else if (config->watch_mode == "per-domain") {
    config->model.watcher.mode = store::WatchMode::kPerDomain;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--xenstore-watch: \"", config->watch_mode,
                     "\" is not subtree or per-domain"));
  }
  if (config->domain_list_path == "persistent") {
    config->parsed_domain_list_path = xen::DomainListPath::kPersistentBuffer;
  } else if (config->domain_list_path == "libxenctrl") {
    config->parsed_domain_list_path = xen::DomainListPath::kLibxenctrl;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--domain-list-path: \"", config->domain_list_path,
                     "\" is not persistent or libxenctrl"));
  }
  for (const std::string& subtree :
       config->server.domains.xenstore_read_allow) {
    if (auto s = ValidateXenstorePath(subtree, "--xenstore-read-allow");
        !s.ok()) {
      return s;
    }
  }
  for (const std::string& key : config->model.watcher.keys) {
    if (key.empty() || key.front() == '/' || key.back() == '/' ||
        key.find("..") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--xenstore-keys: \"", key,
          "\" must be a relative path such as name or memory/target"));
    }
  }
  if (!config->metrics_address.empty()) {
    std::string host, port;
    if (!SplitHostPort(config->metrics_address, &host, &port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--metrics-address: \"", config->metrics_address,
                       "\" is not HOST:PORT (e.g. 127.0.0.1:9464)"));
    }
  }
  config->model.sweep_interval = absl::Seconds(config->sweep_interval_seconds);
  config->server.domains.watch.default_bookmark_interval =
      absl::Seconds(config->bookmark_interval_seconds);
  return ValidateListenerOptions(config->server.listeners);
}

}  // namespace xenlet::agent

// xenlet's command line.
#ifndef XENLET_AGENT_FLAGS_H_
#define XENLET_AGENT_FLAGS_H_

#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "agent/server.h"
#include "common/log.h"
#include "store/domain_model.h"
#include "xen/xenctrl_hypervisor.h"

namespace xenlet::agent {

struct AgentConfig {
  ServerOptions server;
  store::ModelOptions model;
  double sweep_interval_seconds = 1;
  std::string watch_mode = "subtree";
  std::string domain_list_path = "persistent";
  double bookmark_interval_seconds = 30;
  uint32_t event_log_mib =
      static_cast<uint32_t>(store::StoreOptions{}.event_log_max_bytes >> 20);
  // Derived by FinishConfig.
  xen::DomainListPath parsed_domain_list_path =
      xen::DomainListPath::kPersistentBuffer;
  std::string socket_mode_text = "0660";
  std::string xenstore_socket;                     // "" = libxenstore's default
  double xenstore_timeout_seconds = 10;            // 0 = no bound
  std::string metrics_address = "127.0.0.1:9464";  // "" = no endpoint
  double shutdown_grace_seconds = 5;
  int tls_reload_seconds = 0;  // 0 = reload only on SIGHUP
  std::string log_level = "info";
  std::string log_format = "text";
  // Derived by FinishConfig.
  LogLevel parsed_log_level = LogLevel::kInfo;
  LogFormat parsed_log_format = LogFormat::kText;
};

// The CLI11 app with every flag bound to config, which must outlive it.
// --config FILE reads flags from a TOML-style file ("name = value", name a
// long flag without "--"); the command line wins over it, and an unknown
// key, a [section] or a missing file is an error naming it.
std::unique_ptr<CLI::App> MakeAgentApp(AgentConfig* config);

// Checks and converts what CLI11 cannot (octal mode, names); messages name
// the flag.
absl::Status FinishConfig(AgentConfig* config);

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_FLAGS_H_

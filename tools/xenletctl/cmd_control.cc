// pause, unpause, shutdown, destroy: xenlet.v1.ControlService, one result
// per selector (done, not found, already, refused, failed).
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/table.h"
#include "xenlet/v1/control_service.grpc.pb.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::ControlResponse;

// The API's batch bound (ControlService requests' selectors).
constexpr size_t kMaxControlSelectors = 1000;

// "7", a UUID, "name:NAME", or "7@UUID": domid 7 only if it is still that
// domain (expect_uuid).
absl::StatusOr<v1::DomainSelector> ParseControlSelector(
    const std::string& text) {
  const size_t at = text.find('@');
  if (at == std::string::npos) return ParseSelector(text);
  auto domid = ParseDomid(text.substr(0, at), "selector " + text);
  if (!domid.ok()) return domid.status();
  auto uuid = ParseUuid(text.substr(at + 1), "selector " + text);
  if (!uuid.ok()) return uuid.status();
  v1::DomainSelector s;
  s.set_domid(*domid);
  s.set_expect_uuid(*uuid);
  return s;
}

template <typename Request>
absl::Status FillSelectors(const std::string& verb,
                           const ControlOptions& options, Request* request) {
  if (options.selectors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(verb,
                     ": give at least one selector (domid, UUID, name:NAME, or "
                     "DOMID@UUID)"));
  }
  if (options.selectors.size() > kMaxControlSelectors) {
    return absl::InvalidArgumentError(absl::StrCat(
        verb, ": ", options.selectors.size(), " selectors; at most ",
        kMaxControlSelectors, " per call"));
  }
  for (const std::string& text : options.selectors) {
    auto selector = ParseControlSelector(text);
    if (!selector.ok()) return selector.status();
    *request->add_selectors() = *selector;
  }
  request->set_request_id(options.request_id);
  return absl::OkStatus();
}

int Render(const GlobalOptions& global, const ControlResponse& response,
           std::ostream& out) {
  bool all_ok = true;
  for (const auto& r : response.results()) {
    if (r.outcome() != v1::CONTROL_OUTCOME_DONE &&
        r.outcome() != v1::CONTROL_OUTCOME_ALREADY) {
      all_ok = false;
    }
  }
  if (global.json) {
    out << ToJson(response) << '\n';
  } else {
    Table table({"SELECTOR", "DOMID", "UUID", "OUTCOME", "FORCED", "MESSAGE"});
    table.AlignRight(1);
    for (const auto& r : response.results()) {
      const bool resolved = !r.uuid().empty();
      table.AddRow({SelectorToString(r.selector()),
                    resolved ? absl::StrCat(r.domid()) : "-",
                    resolved ? r.uuid() : "-", ControlOutcomeName(r.outcome()),
                    r.forced() ? "yes" : "-",
                    r.status().message().empty() ? "-" : r.status().message()});
    }
    table.Render(out);
  }
  return all_ok ? kExitOk : kExitNegative;
}

}  // namespace

int RunControl(const GlobalOptions& global, const ControlOptions& options,
               std::istream& in, std::ostream& out, std::ostream& err) {
  const std::string& verb = options.verb;
  auto channel = MakeChannel(global.connection);
  if (!channel.ok()) return ReportUsageError(err, verb, channel.status());
  auto stub = v1::ControlService::NewStub(*channel);
  grpc::ClientContext context;
  // A shutdown may wait for its guests: the deadline covers that wait.
  double deadline = global.timeout_seconds;
  if (verb == "shutdown" && deadline > 0) deadline += options.timeout_seconds;
  SetDeadline(context, deadline);
  ControlResponse response;
  grpc::Status status;
  absl::Status filled;
  if (verb == "pause") {
    v1::PauseDomainsRequest request;
    filled = FillSelectors(verb, options, &request);
    if (filled.ok()) status = stub->PauseDomains(&context, request, &response);
  } else if (verb == "unpause") {
    v1::UnpauseDomainsRequest request;
    filled = FillSelectors(verb, options, &request);
    if (filled.ok()) {
      status = stub->UnpauseDomains(&context, request, &response);
    }
  } else if (verb == "shutdown") {
    v1::ShutdownDomainsRequest request;
    filled = FillSelectors(verb, options, &request);
    const std::string mode = absl::AsciiStrToLower(options.mode);
    if (mode == "poweroff") {
      request.set_mode(v1::SHUTDOWN_MODE_POWEROFF);
    } else if (mode == "reboot") {
      request.set_mode(v1::SHUTDOWN_MODE_REBOOT);
    } else if (mode == "suspend") {
      request.set_mode(v1::SHUTDOWN_MODE_SUSPEND);
    } else if (filled.ok()) {
      filled = absl::InvalidArgumentError(absl::StrCat(
          "--mode: \"", options.mode, "\" (poweroff, reboot or suspend)"));
    }
    if (options.timeout_seconds < 0 || options.timeout_seconds > 600) {
      filled = absl::InvalidArgumentError("--timeout: 0 to 600 seconds");
    }
    const auto whole = static_cast<int64_t>(options.timeout_seconds);
    request.mutable_timeout()->set_seconds(whole);
    request.mutable_timeout()->set_nanos(
        static_cast<int32_t>((options.timeout_seconds - whole) * 1e9));
    request.set_force(options.force);
    if (filled.ok()) {
      status = stub->ShutdownDomains(&context, request, &response);
    }
  } else {
    v1::DestroyDomainsRequest request;
    filled = FillSelectors(verb, options, &request);
    if (filled.ok() && !options.yes) {
      // Destroying cannot be undone: ask, unless told not to.
      err << "destroy " << request.selectors_size()
          << " domain(s)? This cannot be undone. [y/N] " << std::flush;
      std::string answer;
      std::getline(in, answer);
      if (absl::AsciiStrToLower(answer) != "y" &&
          absl::AsciiStrToLower(answer) != "yes") {
        err << "not destroyed\n";
        return kExitUsage;
      }
    }
    if (filled.ok())
      status = stub->DestroyDomains(&context, request, &response);
  }
  if (!filled.ok()) return ReportUsageError(err, verb, filled);
  if (!status.ok()) return ReportRpcError(err, verb, status, global.connection);
  return Render(global, response, out);
}

std::vector<Command> AddControlCommands(CLI::App& root,
                                        const GlobalOptions& global) {
  std::vector<Command> commands;
  const std::pair<const char*, const char*> verbs[] = {
      {"pause", "Pause domains (ControlService/PauseDomains)"},
      {"unpause", "Unpause domains (ControlService/UnpauseDomains)"},
      {"shutdown",
       "Ask domains to shut down through control/shutdown, as xl does; wait "
       "for them (--timeout), then with --force shut them down through Xen "
       "(ControlService/ShutdownDomains)"},
      {"destroy",
       "Destroy domains: pause, their keys removed, the destroy hypercall, "
       "as libxl does. Asks first unless --yes "
       "(ControlService/DestroyDomains)"},
  };
  for (const auto& [verb, help] : verbs) {
    auto options = std::make_shared<ControlOptions>();
    options->verb = verb;
    CLI::App* cmd = root.add_subcommand(
        verb, absl::StrCat(help,
                           ". One result per selector; exit code 3 unless "
                           "every one is done or already so. Needs an agent "
                           "started with --enable-control."));
    cmd->add_option("selectors", options->selectors,
                    "A domid (7), a UUID, name:NAME, or DOMID@UUID (the "
                    "domid only if it is still that domain)")
        ->required();
    cmd->add_option("--request-id", options->request_id,
                    "Makes a retry safe: the agent answers a repeat of this "
                    "id (within 10 min) with the first answer, acting once");
    if (std::string(verb) == "shutdown") {
      cmd->add_option("--mode", options->mode, "poweroff, reboot or suspend")
          ->capture_default_str();
      cmd->add_option("--timeout", options->timeout_seconds,
                      "Seconds the guests may take (0 with --force: at once "
                      "through Xen)")
          ->capture_default_str();
      cmd->add_flag("--force", options->force,
                    "After the timeout, Xen's remote shutdown (and a destroy "
                    "if even that does not take)");
    }
    if (std::string(verb) == "destroy") {
      cmd->add_flag("--yes,-y", options->yes, "Do not ask for confirmation");
    }
    commands.push_back(
        {cmd, [&global, options](std::ostream& out, std::ostream& err) {
           return RunControl(global, *options, std::cin, out, err);
         }});
  }
  return commands;
}

}  // namespace xenlet::ctl

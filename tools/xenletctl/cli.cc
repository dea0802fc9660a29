// The command line: global flags, the verbs, and CLI11's error handling.
#include <exception>
#include <string>
#include <vector>

#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/help_text.h"

namespace xenlet::ctl {
namespace {

// "list", or "fleet list" for a verb of a group: the verbs given on the
// command line, as deep as CLI11 got.
std::string ParsedVerb(const CLI::App* app) {
  std::string verb;
  for (std::vector<CLI::App*> sub = app->get_subcommands(); !sub.empty();
       sub = sub.front()->get_subcommands()) {
    verb += (verb.empty() ? "" : " ") + sub.front()->get_name();
  }
  return verb;
}

// The same for a registered verb: "fleet list".
std::string VerbPath(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* p = app->get_parent();
       p != nullptr && p->get_parent() != nullptr; p = p->get_parent()) {
    path = p->get_name() + " " + path;
  }
  return path;
}

}  // namespace

int RunCli(int argc, const char* const* argv, std::ostream& out,
           std::ostream& err) {
  CLI::App app(
      "xenletctl: operator CLI for the xenlet agent (xenlet.v1 gRPC API).\n"
      "Connects to the agent's unix socket, or to --address over TCP.\n"
      "`xenletctl VERB --help` has each verb's flags and examples.",
      "xenletctl");
  app.require_subcommand(1);
  // Same prefix as every other error of the tool, and the help of the verb
  // the mistake is in (CLI11 records a verb before parsing its flags).
  app.failure_message([](const CLI::App* app, const CLI::Error& e) {
    return std::string("xenletctl: ") + e.what() + "\n" +
           UsageHint(ParsedVerb(app)) + "\n";
  });
  // Global flags may also follow the verb: `xenletctl list --json`.
  app.fallthrough();

  GlobalOptions global;
  ConnectionOptions& c = global.connection;
  CLI::Option* socket =
      app.add_option("--socket", c.socket, "The agent's unix socket")
          ->capture_default_str();
  app.add_option("--address", c.address,
                 "HOST:PORT of a TCP listener instead of the socket "
                 "(plaintext only to loopback; otherwise --tls-ca)")
      ->excludes(socket);
  app.add_option("--tls-ca", c.tls_ca,
                 "PEM CA bundle to verify the agent's certificate (TCP)");
  app.add_option("--tls-cert", c.tls_cert,
                 "PEM client certificate, for agents that authorise clients");
  app.add_option("--tls-key", c.tls_key, "PEM private key of --tls-cert");
  app.add_flag("--json", global.json,
               "Machine output: one protobuf JSON document per response, "
               "on one line (per event for watch, per table for list "
               "--watch)");
  app.add_option("--timeout", global.timeout_seconds,
                 "Per-call deadline in seconds, 0 for none (not for the "
                 "streams of watch and list --watch)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            // CLI11's own range check prints DBL_MAX in full.
            try {
              if (std::stod(text) >= 0) return "";
            } catch (const std::exception&) {
            }
            return "'" + text + "' is not a number of seconds >= 0";
          },
          "SECONDS"))
      ->capture_default_str();

  // One line per verb; pause/unpause/shutdown/destroy go here.
  std::vector<Command> commands;
  commands.push_back(AddHealthCommand(app, global));
  commands.push_back(AddListCommand(app, global));
  commands.push_back(AddGetCommand(app, global));
  commands.push_back(AddWatchCommand(app, global));
  commands.push_back(AddHostCommand(app, global));
  for (Command& c : AddControlCommands(app, global)) {
    commands.push_back(std::move(c));
  }
  for (Command& c : AddFleetCommands(app, global)) {
    commands.push_back(std::move(c));
  }

  for (const Command& command : commands) {
    command.app->footer(VerbFooter(VerbPath(command.app)));
  }
  // After the verbs: they would inherit it.
  app.footer(RootFooter());

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    app.exit(e, out, err);
    return kExitUsage;
  }
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run(out, err);
  }
  return kExitUsage;
}

}  // namespace xenlet::ctl

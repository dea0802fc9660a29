#include "tools/xenletctl/help_text.h"

#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/xenletctl/exit_codes.h"
#include "tools/xenletctl/table.h"

namespace xenlet::ctl {
namespace {

const std::map<std::string, std::vector<std::string>>& Examples() {
  static const auto* examples =
      new std::map<std::string, std::vector<std::string>>{
          {"health",
           {"xenletctl health                   # SERVING: exit 0",
            "xenletctl health --service xenlet.v1.ControlService",
            "until xenletctl health; do sleep 1; done   # wait for the agent"}},
          {"list",
           {"xenletctl list",
            "xenletctl list --wide --state running --name-prefix web-",
            "xenletctl list --watch             # redraws on changes, Ctrl-C "
            "ends",
            "xenletctl list -w --interval 10 > tables.log   # '# <time>' "
            "before each",
            "xenletctl list --all --page-size 500 --fields domid,name,state",
            "xenletctl --json list --all | jq -r '.domains[].name'"}},
          {"get",
           {"xenletctl get 7 name:web-1 4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b",
            "xenletctl get --wide name:web-1",
            "xenletctl get name:web-1 >/dev/null || echo 'no web-1'   # exit "
            "3",
            "xenletctl --json get 7 | jq '.results[0].domain.memory'"}},
          {"watch",
           {"xenletctl watch                    # current state, SYNCED, "
            "changes",
            "xenletctl watch --no-initial-state --state shutdown",
            "xenletctl watch --event-type added --event-type deleted",
            "xenletctl watch --until-synced     # the current state, then "
            "exit",
            "xenletctl --json watch --stats-interval 10 --name-prefix web-",
            "xenletctl watch --resume 3f2a9c0d1e4b5a67:1234   # from a list "
            "--json snapshot"}},
          {"host", {"xenletctl host", "xenletctl --json host | jq '.sweep'"}},
          {"pause",
           {"xenletctl pause 7 name:web-1",
            "xenletctl pause 7@4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b   # only "
            "if 7 is still it"}},
          {"unpause",
           {"xenletctl unpause name:web-1",
            "xenletctl unpause --request-id maint-7 7   # safe to retry"}},
          {"shutdown",
           {"xenletctl shutdown name:web-1     # poweroff, 30 s to comply",
            "xenletctl shutdown --mode reboot --timeout 60 --force "
            "name:web-1"}},
          {"destroy",
           {"xenletctl destroy name:web-1      # asks first",
            "xenletctl destroy --yes --request-id deploy-42 name:web-1"}},
          {"fleet",
           {"xenletctl fleet list               # NATS at $NATS_URL or "
            "127.0.0.1:4222",
            "xenletctl fleet watch -s nats://n1:4222,nats://n2:4222",
            "xenletctl --json fleet list --host dom0-17"}},
          {"fleet list",
           {"xenletctl fleet list               # NATS at $NATS_URL or "
            "127.0.0.1:4222",
            "xenletctl fleet list --host dom0-17 --wide",
            "xenletctl fleet list -s tls://nats.example:4222 --tlsca ca.pem "
            "--creds ctl.creds",
            "xenletctl --json fleet list | jq -r '.hosts[] | "
            "select(.stale) | .host'"}},
          {"fleet watch",
           {"xenletctl fleet watch              # the fleet, then a line per "
            "change",
            "xenletctl fleet watch --host dom0-17 --stale-after 60",
            "xenletctl fleet watch --json >> fleet.log",
            "xenletctl fleet watch --count 1    # wait for the next change"}},
      };
  return *examples;
}

std::string ExampleBlock(const std::vector<std::string>& lines) {
  // Lines joined, not terminated: CLI11 ends the footer with a newline.
  std::vector<std::string> indented;
  for (const std::string& line : lines) indented.push_back("  " + line);
  return "Examples:\n" + absl::StrJoin(indented, "\n");
}

}  // namespace

std::string RootFooter() {
  std::vector<std::pair<std::string, std::string>> codes;
  for (const ExitCodeDoc& doc : kExitCodeDocs) {
    codes.emplace_back(absl::StrCat("  ", doc.code), doc.meaning);
  }
  std::ostringstream text;
  text << "Exit codes:\n";
  RenderKeyValues(codes, text, 80);
  text << "\n";
  text << ExampleBlock({
      "xenletctl list                     # the domains, as a table",
      "xenletctl list --watch             # kept up to date until Ctrl-C",
      "xenletctl watch                    # one line per change",
      "xenletctl get name:web-1",
      "xenletctl host",
      "xenletctl --socket /tmp/h1/xenlet.sock list",
      "xenletctl --address agent.example:7443 --tls-ca ca.pem list",
      "xenletctl pause 7                  # an agent with --enable-control",
      "xenletctl fleet list -s nats://nats.example:4222   # every host's",
  });
  return text.str();
}

std::string VerbFooter(const std::string& verb) {
  std::string footer =
      "Global flags, also accepted after the verb: --socket, --address, "
      "--tls-ca, --tls-cert, --tls-key, --json, --timeout (see xenletctl "
      "--help).";
  if (verb == "fleet" || absl::StartsWith(verb, "fleet ")) {
    // NATS, not an agent: of the global flags only --json applies.
    footer =
        "Global flags: --json (before or after the verb) prints JSON. The "
        "agent's --socket, --address, --tls-ca, --tls-cert and --tls-key do "
        "not apply: NATS has the verb's own flags (its --timeout, --tlsca, "
        "...).";
  }
  if (verb == "shutdown") {
    // Its own --timeout shadows the global one after the verb.
    absl::StrAppend(&footer,
                    " After shutdown, --timeout is the guests' time; the "
                    "per-call deadline goes before the verb.");
  }
  auto it = Examples().find(verb);
  if (it != Examples().end()) {
    absl::StrAppend(&footer, "\n\n", ExampleBlock(it->second));
  }
  return footer;
}

}  // namespace xenlet::ctl

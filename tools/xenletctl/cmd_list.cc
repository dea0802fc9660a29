// list: xenlet.v1.DomainService/ListDomains, optionally every page; with
// --watch, list_watch.cc.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/domain_table.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/screen.h"
#include "tools/xenletctl/table.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::ctl {

using xenlet::v1::ListDomainsRequest;
using xenlet::v1::ListDomainsResponse;

// The API's page size bound (ListDomainsRequest.page_size).
constexpr int kMaxPageSize = 10000;

int RunList(const GlobalOptions& global, const ListOptions& options,
            std::ostream& out, std::ostream& err) {
  if (options.watch) return RunListWatch(global, options, out, err);
  if (options.count != 0) {
    return ReportUsageError(
        err, "list", absl::InvalidArgumentError("--count: only with --watch"));
  }
  ListDomainsRequest request;
  auto filter = BuildFilter(options.filter);
  if (!filter.ok()) return ReportUsageError(err, "list", filter.status());
  *request.mutable_filter() = *filter;
  auto mask = ParseFieldMask(options.fields);
  if (!mask.ok()) return ReportUsageError(err, "list", mask.status());
  // Unset means every field; an empty mask would mean the same.
  if (mask->paths_size() > 0) *request.mutable_read_mask() = *mask;
  if (options.page_size < 0 || options.page_size > kMaxPageSize) {
    return ReportUsageError(
        err, "list",
        absl::InvalidArgumentError(
            absl::StrCat("--page-size: ", options.page_size, " is not in 0..",
                         kMaxPageSize, " (0: the agent's default)")));
  }
  request.set_page_size(options.page_size);
  request.set_page_token(options.page_token);

  auto channel = MakeChannel(global.connection);
  if (!channel.ok()) return ReportUsageError(err, "list", channel.status());
  auto stub = xenlet::v1::DomainService::NewStub(*channel);

  const DomainLayout layout =
      options.wide ? DomainLayout::kWide : DomainLayout::kNarrow;
  Table table(DomainHeader(layout));
  AlignDomainColumns(table, 0, layout);
  // Every page is one call with its own deadline; the agent serves later
  // pages from the first page's snapshot.
  while (true) {
    grpc::ClientContext context;
    SetDeadline(context, global.timeout_seconds);
    ListDomainsResponse response;
    grpc::Status status = stub->ListDomains(&context, request, &response);
    if (!status.ok()) {
      return ReportRpcError(err, "ListDomains", status, global.connection);
    }

    if (global.json) {
      out << ToJson(response) << '\n';
    } else {
      for (const auto& domain : response.domains()) {
        table.AddRow(DomainRow(domain, *mask, layout));
      }
    }
    if (response.next_page_token().empty()) break;
    if (!options.all) {
      err << "xenletctl: more domains (" << response.total_size()
          << " in total): --all, or --page-token " << response.next_page_token()
          << '\n';
      break;
    }
    if (response.next_page_token() == request.page_token()) {
      // An agent bug would otherwise loop forever.
      err << "xenletctl: ListDomains: the agent returned the same page token "
             "again\n";
      return kExitRpcError;
    }
    request.set_page_token(response.next_page_token());
  }
  if (!global.json) table.Render(out);
  return kExitOk;
}

void AddFilterFlags(CLI::App& command, FilterFlags& filter) {
  command.add_option("--domid", filter.domids,
                     "Only this domain id (0..32751); repeatable, any "
                     "matches");
  command.add_option("--uuid", filter.uuids,
                     "Only this domain UUID; repeatable, any matches");
  command.add_option("--name-prefix", filter.name_prefix,
                     "Only domains whose name starts with this");
  command.add_option("--state", filter.states,
                     absl::StrCat("Only domains in this state (",
                                  absl::StrJoin(StateNames(), ", "),
                                  "); repeatable, any matches"));
}

Command AddListCommand(CLI::App& root, const GlobalOptions& global) {
  auto options = std::make_shared<ListOptions>();
  CLI::App* cmd = root.add_subcommand(
      "list",
      "List domains from one snapshot of the agent's model, in domid order "
      "(DomainService/ListDomains). Filter flags combine with AND. With "
      "--watch, keep the table up to date until Ctrl-C.");
  AddFilterFlags(*cmd, options->filter);
  cmd->add_flag("--wide", options->wide,
                "More columns: UUID, MAXMEM, TARGET (balloon target), POOL "
                "(cpupool), SSIDREF (XSM label), FLAGS");
  cmd->add_option("--fields", options->fields,
                  "Only these Domain fields (comma list of proto paths, e.g. "
                  "domid,name,memory.current_bytes); other columns show -")
      ->delimiter(',');
  CLI::Option* page_size = cmd->add_option(
      "--page-size", options->page_size,
      "Domains per call, 0..10000 (0: the agent's default, 1000)");
  CLI::Option* page_token =
      cmd->add_option("--page-token", options->page_token,
                      "Continue a listing from a previous page's token");
  cmd->add_flag("--all", options->all,
                "Follow next_page_token to the last page");
  CLI::Option* watch =
      cmd->add_flag("-w,--watch", options->watch,
                    "Redraw the table whenever it changes (a WatchDomains "
                    "stream, with STATS for CPU time and memory), at most "
                    "once per --interval, until Ctrl-C. On a terminal the "
                    "screen is cleared for each table; otherwise tables "
                    "follow each other, each after a '# <time>' line. "
                    "With --json, one list --json document per table");
  watch->excludes(page_size)->excludes(page_token);
  cmd->add_option("--interval", options->interval_seconds,
                  "With --watch: seconds between redraws at most, 0..3600 "
                  "(0: at every change)")
      ->capture_default_str()
      ->needs(watch);
  cmd->add_option("--count", options->count,
                  "With --watch: exit after this many tables (0: until "
                  "Ctrl-C)")
      ->needs(watch);
  return {cmd, [&global, options](std::ostream& out, std::ostream& err) {
            ListOptions run = *options;
            if (!run.watch) return RunList(global, run, out, err);
            StopToken stop;
            // Before the channel exists, so gRPC's threads never take the
            // signals.
            SignalStopper signals(stop);
            run.stop = &stop;
            run.terminal = &out == &std::cout && IsTerminal(STDOUT_FILENO);
            return RunList(global, run, out, err);
          }};
}

}  // namespace xenlet::ctl

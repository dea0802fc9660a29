// get: xenlet.v1.DomainService/GetDomains, one result per selector.
#include <memory>

#include "absl/strings/str_cat.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/domain_format.h"
#include "tools/xenletctl/domain_table.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/table.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::ctl {

using xenlet::v1::GetDomainsRequest;
using xenlet::v1::GetDomainsResponse;

// The API's batch bound (GetDomainsRequest.selectors).
constexpr size_t kMaxSelectors = 10000;

int RunGet(const GlobalOptions& global, const GetOptions& options,
           std::ostream& out, std::ostream& err) {
  GetDomainsRequest request;
  if (options.selectors.empty()) {
    return ReportUsageError(
        err, "get",
        absl::InvalidArgumentError(
            "get: give at least one selector (domid, UUID or name:NAME)"));
  }
  if (options.selectors.size() > kMaxSelectors) {
    return ReportUsageError(
        err, "get",
        absl::InvalidArgumentError(
            absl::StrCat("get: ", options.selectors.size(),
                         " selectors; at most ", kMaxSelectors, " per call")));
  }
  for (const std::string& text : options.selectors) {
    auto selector = ParseSelector(text);
    if (!selector.ok()) return ReportUsageError(err, "get", selector.status());
    *request.add_selectors() = *selector;
  }
  auto mask = ParseFieldMask(options.fields);
  if (!mask.ok()) return ReportUsageError(err, "get", mask.status());
  // Unset means every field; an empty mask would mean the same.
  if (mask->paths_size() > 0) *request.mutable_read_mask() = *mask;

  auto channel = MakeChannel(global.connection);
  if (!channel.ok()) return ReportUsageError(err, "get", channel.status());
  auto stub = xenlet::v1::DomainService::NewStub(*channel);
  grpc::ClientContext context;
  SetDeadline(context, global.timeout_seconds);
  GetDomainsResponse response;
  grpc::Status status = stub->GetDomains(&context, request, &response);
  if (!status.ok()) {
    return ReportRpcError(err, "GetDomains", status, global.connection);
  }

  bool all_ok = true;
  for (const auto& result : response.results()) {
    if (result.status().code() != 0) all_ok = false;
  }
  if (global.json) {
    out << ToJson(response) << '\n';
  } else {
    const DomainLayout layout =
        options.wide ? DomainLayout::kWide : DomainLayout::kNarrow;
    std::vector<std::string> header = {"SELECTOR", "STATUS"};
    for (std::string& column : DomainHeader(layout)) {
      header.push_back(std::move(column));
    }
    header.push_back("MESSAGE");
    Table table(header);
    AlignDomainColumns(table, 2, layout);
    for (int i = 0; i < response.results_size(); ++i) {
      const auto& result = response.results(i);
      // Results come in request order; fall back on it if the agent does
      // not echo the selector.
      const auto& selector =
          result.has_selector() || i >= request.selectors_size()
              ? result.selector()
              : request.selectors(i);
      std::vector<std::string> row = {SelectorToString(selector),
                                      StatusCodeName(result.status().code())};
      if (result.status().code() == 0) {
        for (std::string& cell : DomainRow(result.domain(), *mask, layout)) {
          row.push_back(std::move(cell));
        }
      } else {
        row.resize(header.size() - 1, "-");
      }
      row.resize(header.size() - 1);
      row.push_back(result.status().message());
      table.AddRow(std::move(row));
    }
    table.Render(out);
  }
  return all_ok ? kExitOk : kExitNegative;
}

Command AddGetCommand(CLI::App& root, const GlobalOptions& global) {
  auto options = std::make_shared<GetOptions>();
  CLI::App* cmd = root.add_subcommand(
      "get",
      "Look up domains by selector, one result per selector, NOT_FOUND "
      "included (DomainService/GetDomains). Exit code 3 if any selector "
      "found nothing.");
  cmd->add_option("selectors", options->selectors,
                  "A domid (7), a UUID, or name:NAME; domid:N and uuid:U "
                  "also work")
      ->required();
  cmd->add_flag("--wide", options->wide,
                "More columns, as list --wide: UUID, MAXMEM, TARGET, POOL, "
                "SSIDREF, FLAGS");
  cmd->add_option("--fields", options->fields,
                  "Only these Domain fields (comma list of proto paths); "
                  "other columns show -")
      ->delimiter(',');
  return {cmd, [&global, options](std::ostream& out, std::ostream& err) {
            return RunGet(global, *options, out, err);
          }};
}

}  // namespace xenlet::ctl

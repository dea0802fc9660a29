#include "tools/xenletctl/fleet_session.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fleet/fleet_names.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/exit_codes.h"

namespace xenlet::ctl {
namespace {

// How often the waits look at the stop token.
constexpr absl::Duration kTick = absl::Milliseconds(100);

constexpr char kConnectHint[] =
    "Is nats-server running there? -s/--server (or NATS_URL) names the "
    "servers; --user/--password, --token, --creds or --tlsca if it asks "
    "for them.";

bool Stopped(const FleetOptions& options) {
  return options.stop != nullptr && options.stop->stopped();
}

}  // namespace

std::unique_ptr<fleet::FleetReader> StartFleetReader(
    const FleetOptions& options, fleet::ReaderCallbacks callbacks,
    const std::string& verb, std::ostream& err, int* exit_code) {
  *exit_code = kExitUsage;
  if (!options.host.empty()) {
    absl::Status valid = fleet::ValidateHostId(options.host);
    if (!valid.ok()) {
      ReportUsageError(err, verb,
                       absl::InvalidArgumentError(
                           absl::StrCat("--host: ", valid.message())));
      return nullptr;
    }
  }
  if (!(options.stale_after_seconds > 0)) {
    ReportUsageError(err, verb,
                     absl::InvalidArgumentError(
                         "--stale-after: must be a number of seconds > 0"));
    return nullptr;
  }
  if (options.count < 0) {
    ReportUsageError(err, verb,
                     absl::InvalidArgumentError("--count: must be >= 0"));
    return nullptr;
  }
  auto connection = fleet::MakeConnectionOptions(options.nats);
  if (!connection.ok()) {
    ReportUsageError(err, verb, connection.status());
    return nullptr;
  }
  if (connection->name.empty()) {
    connection->name = absl::StrCat("xenletctl ", verb);
  }
  const absl::Duration wait = absl::Seconds(options.nats.timeout_seconds);
  connection->connect_timeout = std::min(connection->connect_timeout, wait);
  const std::string servers = absl::StrJoin(connection->servers, ",");

  fleet::ReaderOptions reader_options;
  reader_options.host_filter = options.host;
  reader_options.stale_after = absl::Seconds(options.stale_after_seconds);
  *exit_code = kExitRpcError;
  auto reader = fleet::FleetReader::Start(*connection, reader_options,
                                          std::move(callbacks));
  if (!reader.ok()) {
    err << "xenletctl: cannot reach NATS at " << servers << ": "
        << reader.status().message() << "\n"
        << kConnectHint << "\n";
    return nullptr;
  }

  const fleet::nats::Connection& conn = (*reader)->connection();
  absl::Time deadline = absl::Now() + wait;
  while (!conn.WaitUntilConnected(kTick)) {
    if (Stopped(options)) {
      *exit_code = kExitOk;
      return nullptr;
    }
    if (absl::Now() >= deadline || conn.closed()) {
      absl::Status why = conn.LastError();
      (*reader)->Stop();
      err << "xenletctl: cannot reach NATS at " << servers << ": "
          << (why.ok() ? absl::StrCat("no answer within ",
                                      absl::FormatDuration(wait))
                       : std::string(why.message()))
          << "\n"
          << kConnectHint << "\n";
      return nullptr;
    }
  }

  // A big fleet takes a while to list: the wait starts again with every
  // entry that came.
  deadline = absl::Now() + wait;
  uint64_t entries = 0;
  while (!(*reader)->WaitUntilSynced(kTick)) {
    if (Stopped(options)) {
      *exit_code = kExitOk;
      return nullptr;
    }
    const uint64_t now_entries = (*reader)->stats().entries;
    if (now_entries != entries) {
      entries = now_entries;
      deadline = absl::Now() + wait;
    }
    if (absl::Now() >= deadline) {
      absl::Status why = (*reader)->last_error();
      (*reader)->Stop();
      err << "xenletctl: NATS at " << conn.ConnectedUrl() << ": the buckets "
          << fleet::kDomainsBucket << " and " << fleet::kHostsBucket
          << " were not listed within " << wait
          << (why.ok() ? std::string() : absl::StrCat(": ", why.message()))
          << "\n"
          << "Is JetStream enabled and does its cluster have a leader "
             "(nats-server's log)? May this user read the buckets? A "
             "larger --timeout waits longer.\n";
      return nullptr;
    }
  }

  const fleet::ReaderStats stats = (*reader)->stats();
  std::vector<std::string> missing;
  if (stats.domains_bucket_missing) {
    missing.emplace_back(fleet::kDomainsBucket);
  }
  if (stats.hosts_bucket_missing) missing.emplace_back(fleet::kHostsBucket);
  if (!missing.empty()) {
    // Not an error: a fleet before its first publisher is empty.
    err << "xenletctl: NATS at " << conn.ConnectedUrl() << " has no bucket "
        << absl::StrJoin(missing, " or ")
        << " yet (xenlet-publish creates them)\n";
  }
  *exit_code = kExitOk;
  return std::move(*reader);
}

}  // namespace xenlet::ctl

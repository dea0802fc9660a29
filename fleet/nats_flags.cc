#include "fleet/nats_flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fleet/nats/nkey.h"

namespace xenlet::fleet {
namespace {

// "5", "5s", "1m30s", "500ms" -> seconds: NATS_TIMEOUT holds a Go duration
// in an operator's environment, a plain number on a command line.
CLI::Validator DurationAsSeconds() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        double seconds = 0;
        if (absl::SimpleAtod(value, &seconds)) return "";
        absl::Duration d;
        if (!absl::ParseDuration(value, &d)) {
          return "'" + value + "' is not seconds or a duration (5s, 500ms)";
        }
        value = std::to_string(absl::ToDoubleSeconds(d));
        return "";
      },
      "SECONDS|DURATION");
}

}  // namespace

void AddNatsFlags(CLI::App& app, NatsFlags* f) {
  const std::string group = "NATS (as the nats CLI; env as it reads)";
  app.add_option("-s,--server", f->server,
                 "NATS server URLs, comma separated (nats://, tls://)")
      ->envname("NATS_URL")
      ->capture_default_str()
      ->group(group);
  app.add_option("--user", f->user, "User name")
      ->envname("NATS_USER")
      ->group(group);
  app.add_option("--password", f->password, "Password for --user")
      ->envname("NATS_PASSWORD")
      ->group(group);
  app.add_option("--token", f->token, "Authentication token")
      ->envname("NATS_TOKEN")
      ->group(group);
  app.add_option("--creds", f->creds,
                 "User credentials file (JWT and seed, decentralised auth)")
      ->envname("NATS_CREDS")
      ->group(group);
  app.add_option("--nkey", f->nkey,
                 "User NKey seed file (SU...; the public key is derived from "
                 "it)")
      ->envname("NATS_NKEY")
      ->group(group);
  app.add_option("--tlscert", f->tlscert,
                 "TLS client certificate (PEM), for servers that verify "
                 "clients")
      ->envname("NATS_CERT")
      ->group(group);
  app.add_option("--tlskey", f->tlskey, "Private key of --tlscert (PEM)")
      ->envname("NATS_KEY")
      ->group(group);
  app.add_option("--tlsca", f->tlsca,
                 "CA certificates (PEM) the server's certificate must chain "
                 "to; turns TLS on")
      ->envname("NATS_CA")
      ->group(group);
  app.add_option("--timeout", f->timeout_seconds,
                 "How long a JetStream request (a publish's acknowledgement, "
                 "a bucket operation) waits for its answer: seconds, or a "
                 "duration as the nats CLI takes it (5s, 500ms)")
      ->envname("NATS_TIMEOUT")
      ->capture_default_str()
      ->transform(DurationAsSeconds())
      ->check(CLI::Range(0.1, 600.0))
      ->group(group);
  app.add_option("--ping-interval", f->ping_interval_seconds,
                 "Seconds between pings to the server: a silent link is "
                 "noticed after two unanswered ones (libnats' default of 2 "
                 "minutes would hide a cut for minutes)")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 3600.0))
      ->group(group);
  app.add_option("--connection-name", f->connection_name,
                 "Name shown in the server's connection list")
      ->group(group);
}

absl::StatusOr<nats::ConnectionOptions> MakeConnectionOptions(
    const NatsFlags& f) {
  nats::ConnectionOptions o;
  o.servers = nats::SplitServerList(f.server);
  if (o.servers.empty()) {
    return absl::InvalidArgumentError("--server: no server URL given");
  }
  const int ways = (!f.user.empty()) + (!f.token.empty()) + (!f.creds.empty()) +
                   (!f.nkey.empty());
  if (ways > 1) {
    return absl::InvalidArgumentError(
        "--user, --token, --creds and --nkey: give at most one way to "
        "authenticate");
  }
  if (!f.nkey.empty()) {
    // Read and checked now, so that a bad file is a flag error.
    auto seed = nats::ReadNKeySeedFile(f.nkey);
    if (!seed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--nkey: ", seed.status().message()));
    }
    auto public_key = nats::NKeyUserPublicKey(*seed);
    if (!public_key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--nkey ", f.nkey, ": ", public_key.status().message()));
    }
    o.nkey = *public_key;
    o.nkey_seed_file = f.nkey;
  }
  if (!f.password.empty() && f.user.empty()) {
    return absl::InvalidArgumentError("--password: only with --user");
  }
  if (f.tlscert.empty() != f.tlskey.empty()) {
    return absl::InvalidArgumentError(
        "--tlscert and --tlskey: give both or neither");
  }
  o.user = f.user;
  o.password = f.password;
  o.token = f.token;
  o.creds_file = f.creds;
  o.tls_ca = f.tlsca;
  o.tls_cert = f.tlscert;
  o.tls_key = f.tlskey;
  o.tls = !f.tlsca.empty() || !f.tlscert.empty();
  o.jetstream_timeout = absl::Seconds(f.timeout_seconds);
  o.ping_interval = absl::Seconds(f.ping_interval_seconds);
  o.name = f.connection_name;
  return o;
}

}  // namespace xenlet::fleet

// The NATS connection flags of xenlet-publish and `xenletctl fleet`, named
// as the `nats` CLI names them, each also read from the environment
// variable that CLI reads (NATS_URL, NATS_USER, ...), so that an operator's
// NATS context carries over. One definition for both binaries.
#ifndef XENLET_FLEET_NATS_FLAGS_H_
#define XENLET_FLEET_NATS_FLAGS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "fleet/nats/connection.h"

namespace xenlet::fleet {

struct NatsFlags {
  std::string server = "nats://127.0.0.1:4222";
  std::string user;
  std::string password;
  std::string token;
  std::string creds;
  std::string nkey;  // a seed file
  std::string tlscert;
  std::string tlskey;
  std::string tlsca;
  double timeout_seconds = 5;
  double ping_interval_seconds = 5;
  std::string connection_name;
};

// Adds the flags to `app`, in a group of their own.
void AddNatsFlags(CLI::App& app, NatsFlags* flags);

// The connection options the flags say; INVALID_ARGUMENT naming the flag
// when they contradict each other (two ways to authenticate, a key
// without its certificate, ...).
absl::StatusOr<nats::ConnectionOptions> MakeConnectionOptions(
    const NatsFlags& flags);

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_NATS_FLAGS_H_

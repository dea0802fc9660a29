// The start of `xenletctl fleet list|watch`: a FleetReader from the fleet
// flags, and the wait for its first whole listing, with the failures an
// operator can act on (NATS not reachable, the buckets not listed in time).
#ifndef XENLET_TOOLS_XENLETCTL_FLEET_SESSION_H_
#define XENLET_TOOLS_XENLETCTL_FLEET_SESSION_H_

#include <memory>
#include <ostream>
#include <string>

#include "fleet/reader/fleet_reader.h"
#include "tools/xenletctl/commands.h"

namespace xenlet::ctl {

// Starts the reader and waits until it is synced: up to the NATS --timeout
// for the connection, then up to --timeout for the listing (the wait starts
// again while entries keep coming, for big fleets). On failure prints the
// error and the next step to `err` and returns null with *exit_code set
// (kExitUsage or kExitRpcError); also null, with kExitOk, when
// options.stop was stopped meanwhile. `verb` is "fleet list" or "fleet
// watch".
std::unique_ptr<fleet::FleetReader> StartFleetReader(
    const FleetOptions& options, fleet::ReaderCallbacks callbacks,
    const std::string& verb, std::ostream& err, int* exit_code);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_FLEET_SESSION_H_

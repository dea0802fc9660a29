// Exit codes of xenletctl, documented in README.md.
#ifndef XENLET_TOOLS_XENLETCTL_EXIT_CODES_H_
#define XENLET_TOOLS_XENLETCTL_EXIT_CODES_H_

namespace xenlet::ctl {

inline constexpr int kExitOk = 0;
// An RPC failed (or the connection could not be set up).
inline constexpr int kExitRpcError = 1;
// Bad command line or flag value; nothing was sent.
inline constexpr int kExitUsage = 2;
// The call succeeded but the answer is not the good one: health not SERVING,
// or a get selector that found no domain.
inline constexpr int kExitNegative = 3;

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_EXIT_CODES_H_

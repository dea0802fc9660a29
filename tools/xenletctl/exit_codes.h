// Exit codes of xenletctl. kExitCodeDocs is what `xenletctl --help` prints;
// README.md's table repeats it word for word (a test checks).
#ifndef XENLET_TOOLS_XENLETCTL_EXIT_CODES_H_
#define XENLET_TOOLS_XENLETCTL_EXIT_CODES_H_

namespace xenlet::ctl {

inline constexpr int kExitOk = 0;
// The agent could not be reached, or an RPC failed.
inline constexpr int kExitRpcError = 1;
// Bad command line or flag value; nothing was sent.
inline constexpr int kExitUsage = 2;
// The call succeeded but the answer is not the good one: health not SERVING,
// a get selector that found no domain, a control verb not done everywhere.
inline constexpr int kExitNegative = 3;

struct ExitCodeDoc {
  int code;
  const char* meaning;
};

inline constexpr ExitCodeDoc kExitCodeDocs[] = {
    {kExitOk,
     "success; watch and list --watch also when ended by Ctrl-C, SIGTERM, "
     "--count or --until-synced"},
    {kExitRpcError,
     "the agent could not be reached or a call failed (the error and what "
     "to do next are on stderr)"},
    {kExitUsage,
     "usage error: a bad flag or value, nothing was sent (also: destroy "
     "not confirmed)"},
    {kExitNegative,
     "the call worked but the answer is negative: health not SERVING, a get "
     "selector found nothing, a control verb not done or already so for "
     "every selector"},
};

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_EXIT_CODES_H_

// The footers of xenletctl's help: the exit codes, the global flags, and
// examples for the tool and for each verb (kept next to each other so that
// they read as one manual; README.md repeats them).
#ifndef XENLET_TOOLS_XENLETCTL_HELP_TEXT_H_
#define XENLET_TOOLS_XENLETCTL_HELP_TEXT_H_

#include <string>

namespace xenlet::ctl {

// `xenletctl --help`: "Exit codes:" then "Examples:".
std::string RootFooter();

// `xenletctl VERB --help`: the global flags, then "Examples:".
std::string VerbFooter(const std::string& verb);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_HELP_TEXT_H_

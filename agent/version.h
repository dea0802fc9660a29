#ifndef XENLET_AGENT_VERSION_H_
#define XENLET_AGENT_VERSION_H_

namespace xenlet {

inline constexpr char kVersion[] = "0.1.0";

}  // namespace xenlet

#endif  // XENLET_AGENT_VERSION_H_

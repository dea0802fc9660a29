#include "xen/types.h"

#include <cstdio>

namespace xenlet::xen {

const char* ShutdownReasonName(ShutdownReason reason) {
  switch (reason) {
    case ShutdownReason::kPoweroff:
      return "poweroff";
    case ShutdownReason::kReboot:
      return "reboot";
    case ShutdownReason::kSuspend:
      return "suspend";
    case ShutdownReason::kCrash:
      return "crash";
    case ShutdownReason::kWatchdog:
      return "watchdog";
    case ShutdownReason::kSoftReset:
      return "soft_reset";
  }
  return "unknown";
}

const char* ShutdownRequestWord(ShutdownReason reason) {
  // A crash, a watchdog or a soft reset (a guest's kexec) is nothing a
  // toolstack asks a guest for: Linux's xenbus driver knows poweroff,
  // reboot, suspend (and halt, sysrq).
  if (reason == ShutdownReason::kCrash || reason == ShutdownReason::kWatchdog ||
      reason == ShutdownReason::kSoftReset) {
    return "";
  }
  return ShutdownReasonName(reason);
}

std::string DomainInfo::Uuid() const {
  char buf[37];
  const uint8_t* h = handle.data();
  std::snprintf(buf, sizeof(buf),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                "%02x%02x%02x%02x%02x%02x",
                h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9],
                h[10], h[11], h[12], h[13], h[14], h[15]);
  return buf;
}

}  // namespace xenlet::xen

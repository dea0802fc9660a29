// Plain value types shared by the xen/ interfaces. No Xen header is needed to
// use them: the real implementations translate from Xen's structures.
#ifndef XENLET_XEN_TYPES_H_
#define XENLET_XEN_TYPES_H_

#include <array>
#include <cstdint>
#include <string>

namespace xenlet::xen {

using Domid = uint32_t;

// DOMID_FIRST_RESERVED: domids 0..32751 name domains; the rest are reserved.
inline constexpr Domid kDomidFirstReserved = 0x7FF0;
inline constexpr Domid kMaxDomid = kDomidFirstReserved - 1;
inline constexpr uint64_t kPageSize = 4096;
// XEN_INVALID_MAX_VCPU_ID: what getdomaininfo reports as max_vcpu_id for a
// domain without vCPUs (before the toolstack's max_vcpus domctl).
inline constexpr uint32_t kInvalidMaxVcpuId = ~0u;
// The 8-bit shutdown code of getdomaininfo's flags for a domain that has
// none (Xen's SHUTDOWN_CODE_INVALID, all ones, truncated to the field).
inline constexpr uint8_t kShutdownCodeInvalid = 0xff;

// Xen's SHUTDOWN_* codes, in Xen's numbering.
enum class ShutdownReason : uint8_t {
  kPoweroff = 0,
  kReboot = 1,
  kSuspend = 2,
  kCrash = 3,
  kWatchdog = 4,
  kSoftReset = 5,
};

// The "control/shutdown" word a toolstack writes for a reason, or "" if the
// reason has none (crash, watchdog, soft_reset: the guest's own doing).
const char* ShutdownRequestWord(ShutdownReason reason);
const char* ShutdownReasonName(ShutdownReason reason);

// One domain as XEN_SYSCTL_getdomaininfolist / XEN_DOMCTL_getdomaininfo
// report it.
struct DomainInfo {
  Domid domid = 0;
  std::array<uint8_t, 16> handle{};  // the toolstack's UUID
  bool dying = false;
  bool hvm = false;
  bool shutdown = false;
  bool paused = false;
  bool blocked = false;
  bool running = false;
  bool debugged = false;
  bool xenstore_domain = false;
  bool hap = false;
  // As Xen reports it, shutdown or not: kShutdownCodeInvalid until a code
  // is given (a running guest may set one for a later shutdown).
  uint8_t shutdown_code = kShutdownCodeInvalid;
  uint64_t tot_pages = 0;
  uint64_t max_pages = 0;
  uint64_t outstanding_pages = 0;
  uint64_t shr_pages = 0;
  uint64_t cpu_time_ns = 0;
  uint32_t nr_online_vcpus = 0;
  uint32_t max_vcpu_id = kInvalidMaxVcpuId;  // invalid: no vCPU yet
  uint32_t ssidref = 0;
  uint32_t cpupool = 0;

  // "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lowercase.
  std::string Uuid() const;
};

// XEN_SYSCTL_physinfo, in the units the API uses.
struct PhysInfo {
  uint32_t nr_cpus = 0;
  uint32_t threads_per_core = 0;
  uint32_t cores_per_socket = 0;
  uint32_t nr_nodes = 0;
  uint32_t cpu_khz = 0;
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t scrub_bytes = 0;
  bool cap_hvm = false;
  bool cap_pv = false;
  bool cap_hap = false;
  bool cap_shadow = false;
};

struct XenVersion {
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string extra;
  std::string capabilities;
};

}  // namespace xenlet::xen

#endif  // XENLET_XEN_TYPES_H_

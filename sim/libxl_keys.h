// The xenstore operations libxl 4.17 makes for a new domain, step by step
// and in its order (libxl_create.c, libxl_dom.c, libxl_device.c,
// libxl_console.c), so that the toolstack simulator writes what `xl create`
// writes, in the same transactions.
#ifndef XENLET_SIM_LIBXL_KEYS_H_
#define XENLET_SIM_LIBXL_KEYS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "xen/types.h"

namespace xenlet::sim {

struct XsOp {
  enum Kind {
    kRemove,  // xs_rm; a missing path is not an error
    kMknod,   // libxl__xs_mknod: an empty node with these permissions
    kWrite,   // xs_write; a new node inherits its parent's permissions
  };
  Kind kind = kWrite;
  std::string path;
  std::string value;
  std::vector<std::string> perms;  // kMknod, and kWrite where set
};

// What libxl knows of the domain when it writes.
struct LibxlDomain {
  xen::Domid domid = 0;
  std::string uuid;
  std::string name;
  bool hvm = false;
  uint64_t memory_kib = 256 * 1024;
  uint32_t vcpus = 1;
  bool nic = true;
  absl::Time start_time;  // the build's start (/vm/UUID/start_time)
  uint32_t store_port = 1;
  uint64_t store_mfn = 0;
  uint32_t console_port = 2;
  uint64_t console_mfn = 0;
};

// Each step's operations; each step but dm_version is one transaction.
struct LibxlKeys {
  std::vector<XsOp> make;        // libxl__domain_make
  XsOp dm_version;               // store_libxl_entry: outside any transaction
  std::vector<XsOp> build_post;  // libxl__build_post, before the introduce
  std::vector<XsOp> console;     // libxl__device_console_add (console 0)
  std::vector<XsOp> nic;         // libxl__device_nic_add; empty without a NIC
};

LibxlKeys LibxlCreationKeys(const LibxlDomain& d);

// Every node the steps leave with a value, in order (path, value).
std::vector<std::pair<std::string, std::string>> WrittenKeys(
    const LibxlKeys& keys);

// libxl__get_targetmem_fudge: what memory/target leaves out of the target
// (an HVM guest's video RAM, which the device model takes).
uint64_t TargetMemFudgeKib(bool hvm);

// The paths a domain's creation makes, which a destroy removes.
struct DomainPaths {
  std::string dom, vm, libxl, vif_backend, console_backend;
};
DomainPaths PathsOf(xen::Domid domid, const std::string& uuid);

}  // namespace xenlet::sim

#endif  // XENLET_SIM_LIBXL_KEYS_H_

#include "sim/libxl_keys.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "xen/xenstore.h"

namespace xenlet::sim {
namespace {

constexpr char kDeviceModel[] = "qemu_xen";
constexpr char kPvKernel[] = "/var/lib/xenlet-sim/unikernel.gz";
// libxl_internal.h: LIBXL_XENCONSOLE_LIMIT, LIBXL_XENCONSOLE_PROTOCOL.
constexpr char kConsoleLimit[] = "1048576";
constexpr char kConsoleProtocol[] = "vt100";
// The video RAM of an HVM guest's emulated (cirrus) card, libxl's default.
constexpr uint64_t kHvmVideoKib = 8 * 1024;

XsOp Remove(std::string path) { return {XsOp::kRemove, std::move(path)}; }
XsOp Mknod(std::string path, std::vector<std::string> perms) {
  return {XsOp::kMknod, std::move(path), "", std::move(perms)};
}
XsOp Write(std::string path, std::string value,
           std::vector<std::string> perms = {}) {
  return {XsOp::kWrite, std::move(path), std::move(value), std::move(perms)};
}

// "seconds.centiseconds", as libxl__domain_build formats gettimeofday().
std::string StartTime(absl::Time t) {
  const timeval tv = absl::ToTimeval(t);
  return absl::StrFormat("%d.%02d", static_cast<int64_t>(tv.tv_sec),
                         static_cast<int>(tv.tv_usec / 10000));
}

// libxl__device_generic_add's transaction for one device.
std::vector<XsOp> DeviceAdd(
    const std::string& libxl_path, const std::string& frontend,
    const std::string& backend, xen::Domid domid, bool read_only_frontend,
    const std::vector<std::pair<std::string, std::string>>& back,
    const std::vector<std::pair<std::string, std::string>>& front) {
  const std::string guest = absl::StrCat(domid);
  // The guest owns a frontend it drives; console 0's is dom0's, readable.
  const std::vector<std::string> front_perms =
      read_only_frontend ? std::vector<std::string>{"n0", "r" + guest}
                         : std::vector<std::string>{"n" + guest, "r0"};
  const std::vector<std::string> back_perms = {"n0", "r" + guest};
  std::vector<XsOp> ops = {
      Remove(libxl_path),
      Write(libxl_path + "/frontend", frontend),
      Write(libxl_path + "/backend", backend),
      Remove(frontend),
      Mknod(frontend, front_perms),
      Write(frontend + "/backend", backend),
  };
  for (const auto& [key, value] : front) {
    ops.push_back(Write(frontend + "/" + key, value, front_perms));
  }
  ops.push_back(Remove(backend));
  ops.push_back(Mknod(backend, back_perms));
  ops.push_back(Write(backend + "/frontend", frontend));
  for (const auto& [key, value] : back) {
    ops.push_back(Write(backend + "/" + key, value));
  }
  return ops;
}

}  // namespace

uint64_t TargetMemFudgeKib(bool hvm) { return hvm ? kHvmVideoKib : 0; }

DomainPaths PathsOf(xen::Domid domid, const std::string& uuid) {
  return {xen::DomainPath(domid), absl::StrCat("/vm/", uuid),
          absl::StrCat("/libxl/", domid),
          absl::StrCat("/local/domain/0/backend/vif/", domid),
          absl::StrCat("/local/domain/0/backend/console/", domid)};
}

LibxlKeys LibxlCreationKeys(const LibxlDomain& d) {
  const DomainPaths p = PathsOf(d.domid, d.uuid);
  const std::string& dom = p.dom;
  const std::string guest = absl::StrCat(d.domid);
  // libxl__domain_make's three permission sets.
  const std::vector<std::string> ro = {"n0", "r" + guest};
  const std::vector<std::string> rw = {"n" + guest};
  const std::vector<std::string> none = {"n0"};
  LibxlKeys k;

  k.make = {
      Remove(dom),
      Mknod(dom, ro),
      Remove(p.vm),
      Mknod(p.vm, ro),
      Remove(p.libxl),
      Mknod(p.libxl, none),
      Mknod(p.libxl + "/device", none),
      Write(dom + "/vm", p.vm),
      Write(dom + "/name", d.name),  // libxl__domain_rename
      Mknod(dom + "/cpu", ro),
      Mknod(dom + "/memory", ro),
      Mknod(dom + "/device", ro),
      Mknod(dom + "/device/suspend/event-channel", rw),
      Mknod(dom + "/control", ro),
  };
  if (d.hvm) k.make.push_back(Mknod(dom + "/hvmloader", ro));
  std::vector<std::string> guest_nodes = {
      "control/shutdown", "control/feature-poweroff", "control/feature-reboot",
      "control/feature-suspend"};
  if (d.hvm) {
    guest_nodes.push_back("control/feature-s3");
    guest_nodes.push_back("control/feature-s4");
  }
  for (const char* n :
       {"control/sysrq", "data", "drivers", "feature", "attr", "error"}) {
    guest_nodes.push_back(n);
  }
  for (const std::string& n : guest_nodes) {
    k.make.push_back(Mknod(dom + "/" + n, rw));
  }
  k.make.push_back(Write(p.vm + "/uuid", d.uuid));
  k.make.push_back(Write(p.vm + "/name", d.name));
  k.make.push_back(
      Write(dom + "/control/platform-feature-multiprocessor-suspend", "1"));
  k.make.push_back(
      Write(dom + "/control/platform-feature-xs_reset_watches", "1"));
  k.make.push_back(Write(p.libxl + "/type", d.hvm ? "hvm" : "pv"));

  k.dm_version = Write(p.libxl + "/dm-version", kDeviceModel);

  const uint64_t fudge = TargetMemFudgeKib(d.hvm);
  k.build_post = {
      Write(dom + "/memory/static-max", absl::StrCat(d.memory_kib)),
      Write(dom + "/memory/target", absl::StrCat(d.memory_kib - fudge)),
      Write(dom + "/memory/videoram", absl::StrCat(fudge)),
      Write(dom + "/domid", guest),
      Write(dom + "/store/port", absl::StrCat(d.store_port)),
      Write(dom + "/store/ring-ref", absl::StrCat(d.store_mfn)),
  };
  for (uint32_t v = 0; v < d.vcpus; ++v) {
    k.build_post.push_back(
        Write(absl::StrCat(dom, "/cpu/", v, "/availability"), "online"));
  }
  if (d.hvm) {
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{
             {"platform/acpi", "1"},
             {"platform/acpi_s3", "1"},
             {"platform/acpi_s4", "1"},
             {"platform/acpi_laptop_slate", "0"},
             {"platform/device-model", kDeviceModel}}) {
      k.build_post.push_back(Write(dom + "/" + key, value));
    }
    k.build_post.push_back(Write(p.vm + "/rtc/timeoffset", ""));
    k.build_post.push_back(Write(p.vm + "/image/ostype", "hvm"));
  } else {
    k.build_post.push_back(Write(p.vm + "/image/ostype", "linux"));
    k.build_post.push_back(Write(p.vm + "/image/kernel", kPvKernel));
  }
  k.build_post.push_back(Write(p.vm + "/start_time", StartTime(d.start_time)));

  // Console 0, served by xenconsoled: its frontend is dom/console.
  k.console =
      DeviceAdd(p.libxl + "/device/console/0", dom + "/console",
                p.console_backend + "/0", d.domid, /*read_only_frontend=*/true,
                {{"frontend-id", guest},
                 {"online", "1"},
                 {"state", "1"},
                 {"protocol", kConsoleProtocol}},
                {{"output", "pty"},
                 {"tty", ""},
                 {"port", absl::StrCat(d.console_port)},
                 {"ring-ref", absl::StrCat(d.console_mfn)},
                 {"limit", kConsoleLimit},
                 {"type", "xenconsoled"}});

  if (d.nic) {
    const std::string mac = absl::StrFormat(
        "00:16:3e:%02x:%02x:01", d.domid >> 8 & 0xff, d.domid & 0xff);
    k.nic = DeviceAdd(
        p.libxl + "/device/vif/0", dom + "/device/vif/0", p.vif_backend + "/0",
        d.domid,
        /*read_only_frontend=*/false,
        {{"frontend-id", guest},
         {"online", "1"},
         {"state", "1"},
         // No bridge on a simulated host: a hotplug script that succeeds
         // (a valid vif "script=" setting), so that xl destroy runs clean.
         {"script", "/bin/true"},
         {"mac", mac},
         {"bridge", "xenbr0"},
         {"handle", "0"},
         {"type", "vif"}},
        {{"backend-id", "0"}, {"state", "1"}, {"handle", "0"}, {"mac", mac}});
  }
  return k;
}

std::vector<std::pair<std::string, std::string>> WrittenKeys(
    const LibxlKeys& keys) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&out](const std::vector<XsOp>& ops) {
    for (const XsOp& op : ops) {
      if (op.kind == XsOp::kWrite) out.push_back({op.path, op.value});
    }
  };
  add(keys.make);
  add({keys.dm_version});
  add(keys.build_post);
  add(keys.console);
  add(keys.nic);
  return out;
}

}  // namespace xenlet::sim

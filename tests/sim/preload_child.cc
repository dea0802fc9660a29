// Run by preload_test with SimHost::PreloadEnv(), as the agent would be: no
// fake hypervisor linked in, only the real libraries and the preloaded
// shim. Prints "domains=N key=VALUE".
#include <cstdio>

#include "xen/libxenstore_client.h"
#include "xen/xenctrl_hypervisor.h"

int main(int argc, char** argv) {
  using namespace xenlet::xen;
  auto hv = OpenXenctrlHypervisor({});
  if (!hv.ok()) {
    std::fprintf(stderr, "hypervisor: %s\n", hv.status().ToString().c_str());
    return 1;
  }
  std::vector<DomainInfo> all;
  if (auto s = (*hv)->GetAllDomains(&all); !s.ok()) {
    std::fprintf(stderr, "list: %s\n", s.ToString().c_str());
    return 1;
  }
  auto xs = OpenLibxenstoreClient({});  // XENSTORED_PATH
  if (!xs.ok()) {
    std::fprintf(stderr, "xenstore: %s\n", xs.status().ToString().c_str());
    return 1;
  }
  auto value = (*xs)->Read(argc > 1 ? argv[1] : "/simtest/key");
  std::printf("domains=%zu key=%s\n", all.size(),
              value.ok() ? value->c_str() : "(missing)");
  return 0;
}

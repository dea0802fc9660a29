#include "tools/xenletctl/domain_table.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/xenletctl/domain_format.h"

namespace xenlet::ctl {
namespace {

using google::protobuf::FieldMask;
using xenlet::v1::Domain;

// Whether the mask keeps `path` (or a parent of it). Empty mask keeps all.
bool Covers(const FieldMask& mask, const std::string& path) {
  if (mask.paths_size() == 0) return true;
  for (const std::string& p : mask.paths()) {
    if (p == path || absl::StartsWith(path, p + ".")) return true;
  }
  return false;
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string Vcpus(const Domain& d, const FieldMask& mask) {
  const bool online = Covers(mask, "vcpus_online");
  const bool max = Covers(mask, "vcpus_max");
  if (!online && !max) return "-";
  return absl::StrCat(online ? std::to_string(d.vcpus_online()) : "-", "/",
                      max ? std::to_string(d.vcpus_max()) : "-");
}

std::string Flags(const Domain& d) {
  // Static flags only: running/blocked flip on every sweep.
  std::vector<std::string> flags;
  const xenlet::v1::DomainFlags& f = d.flags();
  if (f.hvm()) flags.push_back("hvm");
  if (f.hap()) flags.push_back("hap");
  if (f.paused()) flags.push_back("paused");
  if (f.shutdown()) flags.push_back("shutdown");
  if (f.dying()) flags.push_back("dying");
  if (f.debugged()) flags.push_back("debugged");
  if (f.xenstore_domain()) flags.push_back("xenstore");
  return flags.empty() ? "-" : absl::StrJoin(flags, ",");
}

struct Column {
  const char* header;
  // The Domain field it shows; null: the cell function checks the mask.
  const char* path;
  bool right;
  bool wide_only;
  std::string (*cell)(const Domain&, const FieldMask&);
};

// In table order.
const Column kColumns[] = {
    {"DOMID", "domid", true, false,
     [](const Domain& d, const FieldMask&) {
       return std::to_string(d.domid());
     }},
    {"NAME", "name", false, false,
     [](const Domain& d, const FieldMask&) { return OrDash(d.name()); }},
    {"UUID", "uuid", false, true,
     [](const Domain& d, const FieldMask&) { return OrDash(d.uuid()); }},
    {"STATE", "state", false, false,
     [](const Domain& d, const FieldMask&) { return StateName(d.state()); }},
    {"REASON", "shutdown_reason", false, false,
     [](const Domain& d, const FieldMask&) {
       return ShutdownReasonName(d.shutdown_reason());
     }},
    {"VCPUS", nullptr, true, false, Vcpus},
    {"MEM", "memory.current_bytes", true, false,
     [](const Domain& d, const FieldMask&) {
       return FormatBytes(d.memory().current_bytes());
     }},
    {"MAXMEM", "memory.max_bytes", true, true,
     [](const Domain& d, const FieldMask&) {
       return FormatBytes(d.memory().max_bytes());
     }},
    // 0 until the toolstack writes memory/target.
    {"TARGET", "memory.target_bytes", true, true,
     [](const Domain& d, const FieldMask&) {
       return d.memory().target_bytes() == 0
                  ? std::string("-")
                  : FormatBytes(d.memory().target_bytes());
     }},
    {"CPUTIME", "cpu_time_ns", true, false,
     [](const Domain& d, const FieldMask&) {
       return FormatCpuTime(d.cpu_time_ns());
     }},
    {"POOL", "cpupool", true, true,
     [](const Domain& d, const FieldMask&) {
       return std::to_string(d.cpupool());
     }},
    {"SSIDREF", "ssidref", true, true,
     [](const Domain& d, const FieldMask&) {
       return std::to_string(d.ssidref());
     }},
    {"FLAGS", "flags", false, true,
     [](const Domain& d, const FieldMask&) { return Flags(d); }},
};

bool Shown(const Column& column, DomainLayout layout) {
  return layout == DomainLayout::kWide || !column.wide_only;
}

}  // namespace

std::vector<std::string> DomainHeader(DomainLayout layout) {
  std::vector<std::string> header;
  for (const Column& c : kColumns) {
    if (Shown(c, layout)) header.push_back(c.header);
  }
  return header;
}

std::vector<std::string> DomainRow(const Domain& domain, const FieldMask& mask,
                                   DomainLayout layout) {
  std::vector<std::string> row;
  for (const Column& c : kColumns) {
    if (!Shown(c, layout)) continue;
    row.push_back(c.path != nullptr && !Covers(mask, c.path)
                      ? std::string("-")
                      : c.cell(domain, mask));
  }
  return row;
}

void AlignDomainColumns(Table& table, size_t first, DomainLayout layout) {
  size_t i = first;
  for (const Column& c : kColumns) {
    if (!Shown(c, layout)) continue;
    if (c.right) table.AlignRight(i);
    ++i;
  }
}

}  // namespace xenlet::ctl

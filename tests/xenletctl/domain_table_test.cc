// The domain columns of list and get: the narrow default, --wide, masked
// fields, and the default table's width.
#include "tools/xenletctl/domain_table.h"

#include <sstream>

#include "gtest/gtest.h"

namespace xenlet::ctl {
namespace {

using xenlet::v1::Domain;

Domain Web() {
  Domain d;
  d.set_domid(12);
  d.set_uuid("4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b");
  d.set_name("web");
  d.set_state(xenlet::v1::DOMAIN_STATE_SHUTDOWN);
  d.set_shutdown_reason(xenlet::v1::SHUTDOWN_REASON_SOFT_RESET);
  d.set_vcpus_online(2);
  d.set_vcpus_max(4);
  d.set_cpu_time_ns(12'340'000'000);
  d.mutable_memory()->set_current_bytes(512ull << 20);
  d.mutable_memory()->set_max_bytes(1536ull << 20);
  d.set_cpupool(1);
  d.set_ssidref(7);
  d.mutable_flags()->set_hvm(true);
  d.mutable_flags()->set_shutdown(true);
  d.mutable_flags()->set_running(true);  // volatile: not shown
  return d;
}

TEST(DomainTable, NarrowColumns) {
  EXPECT_EQ(DomainHeader(DomainLayout::kNarrow),
            (std::vector<std::string>{"DOMID", "NAME", "STATE", "REASON",
                                      "VCPUS", "MEM", "CPUTIME"}));
  EXPECT_EQ(DomainRow(Web(), {}, DomainLayout::kNarrow),
            (std::vector<std::string>{"12", "web", "shutdown", "soft_reset",
                                      "2/4", "512MiB", "12.3s"}));
}

TEST(DomainTable, WideColumns) {
  EXPECT_EQ(DomainHeader(DomainLayout::kWide),
            (std::vector<std::string>{
                "DOMID", "NAME", "UUID", "STATE", "REASON", "VCPUS", "MEM",
                "MAXMEM", "TARGET", "CPUTIME", "POOL", "SSIDREF", "FLAGS"}));
  Domain d = Web();
  EXPECT_EQ(DomainRow(d, {}, DomainLayout::kWide),
            (std::vector<std::string>{
                "12", "web", "4f8a3c1e-0b2d-4e6f-9a7b-1c2d3e4f5a6b", "shutdown",
                "soft_reset", "2/4", "512MiB", "1.5GiB", "-", "12.3s", "1", "7",
                "hvm,shutdown"}));
  d.mutable_memory()->set_target_bytes(1ull << 30);
  EXPECT_EQ(DomainRow(d, {}, DomainLayout::kWide)[8], "1GiB");
}

TEST(DomainTable, MaskedColumnsAreDashes) {
  google::protobuf::FieldMask mask;
  mask.add_paths("domid");
  mask.add_paths("name");
  mask.add_paths("memory");  // a parent path covers its children
  mask.add_paths("vcpus_max");
  Domain d;
  d.set_domid(0);
  d.set_name("Domain-0");
  d.mutable_memory()->set_current_bytes(1ull << 30);
  d.mutable_memory()->set_max_bytes(2ull << 30);
  d.set_vcpus_max(4);
  EXPECT_EQ(DomainRow(d, mask, DomainLayout::kNarrow),
            (std::vector<std::string>{"0", "Domain-0", "-", "-", "-/4", "1GiB",
                                      "-"}));
  EXPECT_EQ(
      DomainRow(d, mask, DomainLayout::kWide),
      (std::vector<std::string>{"0", "Domain-0", "-", "-", "-", "-/4", "1GiB",
                                "2GiB", "-", "-", "-", "-", "-"}));
}

TEST(DomainTable, NumbersAlignRightFromTheFirstDomainColumn) {
  Table table({"SELECTOR", "STATUS", "DOMID", "NAME", "STATE", "REASON",
               "VCPUS", "MEM", "CPUTIME"});
  AlignDomainColumns(table, 2, DomainLayout::kNarrow);
  table.AddRow({"7", "OK", "7", "a", "running", "-", "1/1", "1GiB", "1.0s"});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(),
            "SELECTOR  STATUS  DOMID  NAME  STATE    REASON  VCPUS   MEM  "
            "CPUTIME\n"
            "7         OK          7  a     running  -         1/1  1GiB     "
            "1.0s\n");
}

// The default table in an 80-column terminal, with the widest typical
// values: 20-character names, 5-digit domids, a shut-down domain's reason.
TEST(DomainTable, NarrowTableFitsEightyColumns) {
  Table table(DomainHeader(DomainLayout::kNarrow));
  AlignDomainColumns(table, 0, DomainLayout::kNarrow);
  Domain d = Web();
  d.set_domid(32751);
  d.set_name("web-frontend-prod-01");
  d.set_vcpus_online(16);
  d.set_vcpus_max(16);
  d.mutable_memory()->set_current_bytes((1023ull << 20) + (512ull << 10));
  d.set_cpu_time_ns(999ull * 86400 * 1'000'000'000);
  table.AddRow(DomainRow(d, {}, DomainLayout::kNarrow));
  std::ostringstream out;
  table.Render(out);
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

}  // namespace
}  // namespace xenlet::ctl

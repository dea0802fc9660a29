// Aligned table and key: value rendering.
#include "tools/xenletctl/table.h"

#include <sstream>

#include "gtest/gtest.h"

namespace xenlet::ctl {
namespace {

TEST(Table, AlignsColumnsWithoutTrailingBlanks) {
  Table table({"DOMID", "NAME", "STATE"});
  table.AlignRight(0);
  table.AddRow({"0", "Domain-0", "running"});
  table.AddRow({"12", "web", "paused"});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(),
            "DOMID  NAME      STATE\n"
            "    0  Domain-0  running\n"
            "   12  web       paused\n");
}

TEST(Table, HeaderOnly) {
  Table table({"A", "B"});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(), "A  B\n");
  EXPECT_EQ(table.rows(), 0u);
}

TEST(Table, ShortRowsArePadded) {
  Table table({"A", "B", "C"});
  table.AddRow({"x"});
  table.AddRow({"yy", "z", "w"});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(),
            "A   B  C\n"
            "x\n"
            "yy  z  w\n");
}

TEST(Table, Utf8WidthCountsCodePoints) {
  EXPECT_EQ(DisplayWidth("caf\xc3\xa9"), 4u);
  Table table({"NAME", "X"});
  table.AddRow({"caf\xc3\xa9", "1"});
  table.AddRow({"abcde", "2"});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(),
            "NAME   X\n"
            "caf\xc3\xa9   1\n"
            "abcde  2\n");
}

TEST(RenderKeyValues, AlignsValues) {
  std::ostringstream out;
  RenderKeyValues({{"a", "1"}, {"long_key", "2"}, {"k", ""}}, out);
  EXPECT_EQ(out.str(),
            "a:        1\n"
            "long_key: 2\n"
            "k:\n");
}

TEST(RenderKeyValues, WrapsLongValuesAtTheValueColumn) {
  std::ostringstream out;
  RenderKeyValues({{"caps", "aaaa bbbb cccc dddd"},
                   {"k", "x"},
                   {"long", "averyveryverylongword y"}},
                  out, 16);
  EXPECT_EQ(out.str(),
            "caps: aaaa bbbb\n"
            "      cccc dddd\n"
            "k:    x\n"
            "long: averyveryverylongword\n"
            "      y\n");
}

}  // namespace
}  // namespace xenlet::ctl

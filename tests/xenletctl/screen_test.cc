// FitToScreen: list --watch's table cut to the terminal.
#include "tools/xenletctl/screen.h"

#include "gtest/gtest.h"

namespace xenlet::ctl {
namespace {

TEST(FitToScreen, CutsLinesToTheColumns) {
  EXPECT_EQ(FitToScreen("abcdef\nab\n", {4, 10}), "abcd\nab\n");
  // Code points, not bytes: "é" is two bytes and one column.
  EXPECT_EQ(FitToScreen("caf\xc3\xa9s\n", {4, 10}), "caf\xc3\xa9\n");
}

TEST(FitToScreen, KeepsTheCursorLineFreeAndSaysWhatIsLeftOut) {
  const std::string text = "h\n1\n2\n3\n4\n";
  // 4 rows: 3 lines, the last of them the note about the 3 left out.
  EXPECT_EQ(FitToScreen(text, {80, 4}),
            "h\n1\n... 3 more lines (a larger window, or filters, show "
            "them)\n");
  EXPECT_EQ(FitToScreen(text, {80, 6}), text);
  EXPECT_EQ(FitToScreen(text, {10, 3}), "h\n... 4 more\n");
}

TEST(IsTerminal, NotForAFile) {
  EXPECT_FALSE(IsTerminal(-1));
  EXPECT_FALSE(TerminalSize(-1).has_value());
}

}  // namespace
}  // namespace xenlet::ctl

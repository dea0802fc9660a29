// The terminal list --watch redraws: whether stdout is one, its size, and
// a table cut to fit it (lines that wrap or scroll would garble the redraw).
#ifndef XENLET_TOOLS_XENLETCTL_SCREEN_H_
#define XENLET_TOOLS_XENLETCTL_SCREEN_H_

#include <optional>
#include <string>

namespace xenlet::ctl {

// Cursor home, then erase the screen: the next table starts at the top.
inline constexpr char kClearScreen[] = "\x1b[H\x1b[2J";

struct ScreenSize {
  int columns = 0;
  int rows = 0;
};

bool IsTerminal(int fd);

// The window size of the terminal on `fd`; nullopt if it is none or does
// not say.
std::optional<ScreenSize> TerminalSize(int fd);

// `text` (lines ending in '\n') cut to `size`: every line to its columns
// (UTF-8 aware), and at most rows - 1 lines so that the cursor's line does
// not scroll the top away; when lines are left out, the last one says how
// many.
std::string FitToScreen(const std::string& text, ScreenSize size);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_SCREEN_H_

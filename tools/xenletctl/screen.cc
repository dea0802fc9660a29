#include "tools/xenletctl/screen.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace xenlet::ctl {
namespace {

// The longest prefix of `line` that is at most `columns` code points wide.
std::string Cut(const std::string& line, size_t columns) {
  size_t width = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    // A lead byte (not 10xxxxxx) starts a new code point.
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) {
      if (width == columns) return line.substr(0, i);
      ++width;
    }
  }
  return line;
}

}  // namespace

bool IsTerminal(int fd) { return isatty(fd) == 1; }

std::optional<ScreenSize> TerminalSize(int fd) {
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_col == 0 ||
      size.ws_row == 0) {
    return std::nullopt;
  }
  return ScreenSize{size.ws_col, size.ws_row};
}

std::string FitToScreen(const std::string& text, ScreenSize size) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  const size_t columns = size.columns > 0 ? size.columns : 0;
  const size_t room = size.rows > 1 ? size.rows - 1 : 1;
  std::string fitted;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i + 1 == room && lines.size() > room) {
      absl::StrAppend(&fitted,
                      Cut(absl::StrCat("... ", lines.size() - i,
                                       " more lines (a larger window, or "
                                       "filters, show them)"),
                          columns),
                      "\n");
      break;
    }
    absl::StrAppend(&fitted, Cut(lines[i], columns), "\n");
  }
  return fitted;
}

}  // namespace xenlet::ctl

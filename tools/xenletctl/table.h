// Aligned plain-text tables and key: value blocks for human output.
#ifndef XENLET_TOOLS_XENLETCTL_TABLE_H_
#define XENLET_TOOLS_XENLETCTL_TABLE_H_

#include <cstddef>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace xenlet::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header);

  // Right-aligns a column (numbers read better that way).
  void AlignRight(size_t column);
  // Short rows are padded with empty cells; extra cells are kept.
  void AddRow(std::vector<std::string> row);
  size_t rows() const { return rows_.size(); }

  // Columns separated by two spaces, no trailing blanks, one line per row.
  void Render(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with the values aligned. A value that would pass
// `width` columns goes on at the value column of the next lines, broken at
// spaces (a word longer than the room left stays whole).
void RenderKeyValues(
    const std::vector<std::pair<std::string, std::string>>& pairs,
    std::ostream& out, size_t width = 80);

// Display width of UTF-8 text: code points, not bytes (names may be UTF-8).
size_t DisplayWidth(const std::string& text);

}  // namespace xenlet::ctl

#endif  // XENLET_TOOLS_XENLETCTL_TABLE_H_

#include "tools/xenletctl/table.h"

#include <algorithm>

namespace xenlet::ctl {

size_t DisplayWidth(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) {
    // Count every byte except UTF-8 continuation bytes (10xxxxxx).
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

Table::Table(std::vector<std::string> header)
    : header_(std::move(header)), right_(header_.size(), false) {}

void Table::AlignRight(size_t column) {
  if (column >= right_.size()) right_.resize(column + 1, false);
  right_[column] = true;
}

void Table::AddRow(std::vector<std::string> row) {
  if (row.size() < header_.size()) row.resize(header_.size());
  rows_.push_back(std::move(row));
}

void Table::Render(std::ostream& out) const {
  size_t columns = header_.size();
  for (const auto& row : rows_) columns = std::max(columns, row.size());
  std::vector<size_t> widths(columns, 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);

  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string& cell = row[i];
      size_t pad = widths[i] - DisplayWidth(cell);
      bool right = i < right_.size() && right_[i];
      if (i > 0) line += "  ";
      if (right) line.append(pad, ' ');
      line += cell;
      if (!right) line.append(pad, ' ');
    }
    // Left-aligned last columns would leave trailing blanks.
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  };
  print(header_);
  for (const auto& row : rows_) print(row);
}

void RenderKeyValues(
    const std::vector<std::pair<std::string, std::string>>& pairs,
    std::ostream& out, size_t width) {
  size_t key_width = 0;
  for (const auto& [key, value] : pairs) {
    key_width = std::max(key_width, DisplayWidth(key));
  }
  const size_t indent = key_width + 2;  // "key:" and at least one space
  const size_t room = width > indent ? width - indent : 0;
  for (const auto& [key, value] : pairs) {
    out << key << ':';
    if (value.empty()) {
      out << '\n';
      continue;
    }
    out << std::string(indent - DisplayWidth(key) - 1, ' ');
    size_t used = 0;
    size_t start = 0;
    while (start < value.size()) {
      size_t end = value.find(' ', start);
      if (end == std::string::npos) end = value.size();
      const std::string word = value.substr(start, end - start);
      const size_t w = DisplayWidth(word);
      if (used > 0 && used + 1 + w > room) {
        out << '\n' << std::string(indent, ' ');
        used = 0;
      } else if (used > 0) {
        out << ' ';
        ++used;
      }
      out << word;
      used += w;
      start = end + 1;
    }
    out << '\n';
  }
}

}  // namespace xenlet::ctl

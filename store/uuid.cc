#include "store/uuid.h"

#include <cctype>

namespace xenlet::store {

std::optional<std::string> CanonicalUuid(std::string_view text) {
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
    text = text.substr(1, text.size() - 2);
  }
  const bool dashed = text.size() == 36;
  if (!dashed && text.size() != 32) return std::nullopt;
  std::string out;
  out.reserve(36);
  int digits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (c != '-') return std::nullopt;
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    if (digits == 8 || digits == 12 || digits == 16 || digits == 20) {
      out.push_back('-');
    }
    out.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    ++digits;
  }
  return out;
}

}  // namespace xenlet::store

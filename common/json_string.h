// A string as a JSON string literal, quotes included: for the few JSON
// documents the project writes by hand (log lines, CloudEvents envelopes).
#ifndef XENLET_COMMON_JSON_STRING_H_
#define XENLET_COMMON_JSON_STRING_H_

#include <string>
#include <string_view>

namespace xenlet {

// Appends s quoted and escaped (RFC 8259: '"', '\\' and control characters).
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace xenlet

#endif  // XENLET_COMMON_JSON_STRING_H_

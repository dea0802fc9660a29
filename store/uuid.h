// Domain UUIDs: the canonical text form the API and the model use.
#ifndef XENLET_STORE_UUID_H_
#define XENLET_STORE_UUID_H_

#include <optional>
#include <string>
#include <string_view>

namespace xenlet::store {

// Accepts 32 hex digits, either bare or as 8-4-4-4-12 groups with dashes, in
// any case (also wrapped in braces); returns the lowercase dashed form.
std::optional<std::string> CanonicalUuid(std::string_view text);

}  // namespace xenlet::store

#endif  // XENLET_STORE_UUID_H_

#include "store/encoded_forms.h"

namespace xenlet::store {

Encoded EncodedForms::Get(std::string_view key,
                          absl::FunctionRef<std::string()> encode) const {
  // Encoded under the lock: the streams that want the same form at once
  // wait for the first one's bytes instead of encoding them again.
  absl::MutexLock lock(&mutex_);
  for (const auto& [k, form] : forms_) {
    if (k == key) return form;
  }
  Encoded made = std::make_shared<const std::string>(encode());
  if (forms_.size() < kMaxForms) forms_.emplace_back(std::string(key), made);
  return made;
}

size_t EncodedForms::size() const {
  absl::MutexLock lock(&mutex_);
  return forms_.size();
}

}  // namespace xenlet::store

// The encoded forms of one event: the bytes a stream sends for it, made by
// the first stream that needs a given form (field mask, the type its
// filter gives the event, coalesced or not) and shared by every other, so
// an event is serialised once however many watchers send it (Kubernetes'
// watch cache does the same). The forms live as long as the event.
#ifndef XENLET_STORE_ENCODED_FORMS_H_
#define XENLET_STORE_ENCODED_FORMS_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace xenlet::store {

using Encoded = std::shared_ptr<const std::string>;

class EncodedForms {
 public:
  // At most this many forms are kept per event; a watcher with yet another
  // field mask encodes its own.
  static constexpr size_t kMaxForms = 8;

  // The form named key, made with encode if nobody has made it yet.
  Encoded Get(std::string_view key,
              absl::FunctionRef<std::string()> encode) const;
  size_t size() const;

 private:
  mutable absl::Mutex mutex_;
  mutable std::vector<std::pair<std::string, Encoded>> forms_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_ENCODED_FORMS_H_

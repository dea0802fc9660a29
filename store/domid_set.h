// A set of domids as one bit per domid of Xen's whole range (4 KiB): what
// a watch stream that fell behind keeps per domain instead of an entry in
// a map, so that its memory does not grow with the domains on the host.
#ifndef XENLET_STORE_DOMID_SET_H_
#define XENLET_STORE_DOMID_SET_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "xen/types.h"

namespace xenlet::store {

class DomidSet {
 public:
  // Every domid that names a domain (0..kMaxDomid) fits.
  static constexpr size_t kBits = xen::kDomidFirstReserved;

  bool contains(uint32_t domid) const {
    return domid < kBits && (words_[domid / 64] >> (domid % 64)) & 1;
  }
  // Returns whether domid was not in the set. A domid outside the range
  // is never added.
  bool insert(uint32_t domid) {
    if (domid >= kBits || contains(domid)) return false;
    words_[domid / 64] |= uint64_t{1} << (domid % 64);
    ++size_;
    return true;
  }
  // Returns whether domid was in the set.
  bool erase(uint32_t domid) {
    if (!contains(domid)) return false;
    words_[domid / 64] &= ~(uint64_t{1} << (domid % 64));
    --size_;
    return true;
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Calls f(domid) for each member, in domid order.
  template <typename F>
  void ForEach(F f) const {
    for (size_t w = 0; w < kWords; ++w) {
      for (uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) {
        f(static_cast<uint32_t>(w * 64 + std::countr_zero(bits)));
      }
    }
  }

 private:
  static constexpr size_t kWords = (kBits + 63) / 64;
  std::array<uint64_t, kWords> words_{};
  size_t size_ = 0;
};

}  // namespace xenlet::store

#endif  // XENLET_STORE_DOMID_SET_H_

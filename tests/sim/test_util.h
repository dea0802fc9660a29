// Helpers shared by the simulated-host tests.
#ifndef XENLET_TESTS_SIM_TEST_UTIL_H_
#define XENLET_TESTS_SIM_TEST_UTIL_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "xen/xenstore.h"

#define XLSIM_ASSERT_OK(expr)                      \
  do {                                             \
    const absl::Status _st = (expr);               \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st; \
  } while (0)

#define XLSIM_EXPECT_OK(expr)                      \
  do {                                             \
    const absl::Status _st = (expr);               \
    EXPECT_TRUE(_st.ok()) << #expr << ": " << _st; \
  } while (0)

// ASSERT_OK_AND_ASSIGN for StatusOr.
#define XLSIM_CONCAT_(a, b) a##b
#define XLSIM_CONCAT(a, b) XLSIM_CONCAT_(a, b)
#define XLSIM_ASSERT_OK_AND_ASSIGN(lhs, expr)                    \
  auto XLSIM_CONCAT(_so_, __LINE__) = (expr);                    \
  ASSERT_TRUE(XLSIM_CONCAT(_so_, __LINE__).ok())                 \
      << #expr << ": " << XLSIM_CONCAT(_so_, __LINE__).status(); \
  lhs = std::move(*XLSIM_CONCAT(_so_, __LINE__))

namespace xenlet::sim::testing {

// Counts watch events by token on one connection.
class WatchCounter {
 public:
  explicit WatchCounter(xen::XenstoreClient& client) : client_(client) {}

  // Reads events until token has been seen `want` times in all, or the
  // timeout passes. Returns the count.
  int WaitFor(const std::string& token, int want, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (counts_[token] < want) {
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      auto event = client_.NextWatchEvent(left);
      if (!event.ok()) {
        last_error_ = event.status();
        break;
      }
      if (*event) ++counts_[(*event)->token];
    }
    return counts_[token];
  }

  // Writes `path` (watched with token `barrier`) and reads events until its
  // event arrives: every event queued before it has then been counted.
  absl::Status Drain(const std::string& path, const std::string& barrier,
                     absl::Duration timeout) {
    int before = counts_[barrier];
    if (auto s = client_.Write(path, "x"); !s.ok()) return s;
    if (WaitFor(barrier, before + 1, timeout) != before + 1) {
      return absl::DeadlineExceededError("barrier event did not arrive");
    }
    return absl::OkStatus();
  }

  int count(const std::string& token) { return counts_[token]; }
  const absl::Status& last_error() const { return last_error_; }

 private:
  xen::XenstoreClient& client_;
  std::map<std::string, int> counts_;
  absl::Status last_error_;
};

}  // namespace xenlet::sim::testing

#endif  // XENLET_TESTS_SIM_TEST_UTIL_H_

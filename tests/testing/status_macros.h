// gtest assertions on absl::Status.
#ifndef XENLET_TESTS_TESTING_STATUS_MACROS_H_
#define XENLET_TESTS_TESTING_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "gtest/gtest.h"

#define ASSERT_OK(expr)                            \
  do {                                             \
    const absl::Status _st = (expr);               \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st; \
  } while (0)

#define EXPECT_OK(expr)                            \
  do {                                             \
    const absl::Status _st = (expr);               \
    EXPECT_TRUE(_st.ok()) << #expr << ": " << _st; \
  } while (0)

#endif  // XENLET_TESTS_TESTING_STATUS_MACROS_H_

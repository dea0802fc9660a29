// Initiators: an expected change is its caller's once, in its window, for
// its domain (domid and uuid) only; steps in sequence are taken in turn.
#include "store/initiators.h"

#include "gtest/gtest.h"

namespace xenlet::store {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(InitiatorsTest, AnExpectedChangeIsItsCallersOnce) {
  Initiators in;
  in.Expect(7, "u7", {v1::TRANSITION_UNPAUSED, v1::TRANSITION_STARTED}, "ops",
            kT0 + absl::Seconds(30));
  EXPECT_EQ(in.Take(7, "other-uuid", v1::TRANSITION_STARTED, kT0), "")
      << "a reused domid is another domain";
  EXPECT_EQ(in.Take(7, "u7", v1::TRANSITION_PAUSED, kT0), "");
  EXPECT_EQ(in.Take(7, "u7", v1::TRANSITION_STARTED, kT0), "ops");
  // Alternatives: one taken, all gone.
  EXPECT_EQ(in.Take(7, "u7", v1::TRANSITION_UNPAUSED, kT0), "");
  EXPECT_EQ(in.pending(), 0u);
}

TEST(InitiatorsTest, StepsInSequenceAndTheWindow) {
  Initiators in;
  in.Expect(3, "u3", {v1::TRANSITION_DYING, v1::TRANSITION_DESTROYED}, "ops",
            kT0 + absl::Seconds(30), /*in_sequence=*/true);
  EXPECT_EQ(in.Take(3, "u3", v1::TRANSITION_DYING, kT0), "ops");
  EXPECT_EQ(in.Take(3, "u3", v1::TRANSITION_DESTROYED, kT0), "ops");
  EXPECT_EQ(in.pending(), 0u);
  // A later step ends the earlier ones.
  in.Expect(4, "u4", {v1::TRANSITION_DYING, v1::TRANSITION_DESTROYED}, "ops",
            kT0 + absl::Seconds(30), true);
  EXPECT_EQ(in.Take(4, "u4", v1::TRANSITION_DESTROYED, kT0), "ops");
  EXPECT_EQ(in.pending(), 0u);
  // Past the window, nobody's.
  in.Expect(5, "u5", {v1::TRANSITION_PAUSED}, "ops", kT0 + absl::Seconds(30));
  EXPECT_EQ(in.Take(5, "u5", v1::TRANSITION_PAUSED, kT0 + absl::Minutes(1)),
            "");
  EXPECT_EQ(in.pending(), 0u);
}

TEST(InitiatorsTest, AWithdrawnExpectationIsNobodys) {
  Initiators in;
  const uint64_t failed = in.Expect(8, "u8", {v1::TRANSITION_SHUTDOWN}, "ops",
                                    kT0 + absl::Seconds(30));
  const uint64_t other = in.Expect(9, "u9", {v1::TRANSITION_PAUSED}, "ci",
                                   kT0 + absl::Seconds(30));
  EXPECT_NE(failed, other);
  in.Withdraw(failed);
  // The guest shuts itself down: not the caller whose request failed.
  EXPECT_EQ(in.Take(8, "u8", v1::TRANSITION_SHUTDOWN, kT0), "");
  EXPECT_EQ(in.pending(), 1u) << "only the withdrawn one goes";
  EXPECT_EQ(in.Take(9, "u9", v1::TRANSITION_PAUSED, kT0), "ci");
  in.Withdraw(other);  // already taken: nothing to do
  in.Withdraw(12345);  // never issued
  EXPECT_EQ(in.pending(), 0u);
}

}  // namespace
}  // namespace xenlet::store

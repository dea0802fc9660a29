// RequestIds: a retry within the window gets the first call's slot, one
// outside it acts again, and an id is bound to its method.
#include "agent/request_ids.h"

#include "gtest/gtest.h"

namespace xenlet::agent {
namespace {

TEST(RequestIdsTest, ARetryGetsTheFirstSlotWithinTheWindow) {
  RequestIds ids(absl::Minutes(10));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  auto first = ids.Reserve("a", "PauseDomains", t0);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->first);
  first->slot->response.add_results()->set_domid(7);
  first->slot->done.Notify();
  auto retry = ids.Reserve("a", "PauseDomains", t0 + absl::Minutes(9));
  ASSERT_TRUE(retry.ok());
  EXPECT_FALSE(retry->first);
  EXPECT_EQ(retry->slot, first->slot);
  EXPECT_EQ(retry->slot->response.results(0).domid(), 7u);
  // Past the window the id is new again.
  auto late = ids.Reserve("a", "PauseDomains", t0 + absl::Minutes(11));
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->first);
}

TEST(RequestIdsTest, AnIdIsBoundToItsMethod) {
  RequestIds ids;
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  ASSERT_TRUE(ids.Reserve("a", "PauseDomains", t0).ok());
  auto other = ids.Reserve("a", "DestroyDomains", t0);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("PauseDomains"), std::string::npos);
}

TEST(RequestIdsTest, TheOldestGoFirstPastCapacity) {
  RequestIds ids(absl::Minutes(10), /*capacity=*/2);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(ids.Reserve(id, "PauseDomains", t0).ok());
  }
  EXPECT_TRUE(ids.Reserve("a", "PauseDomains", t0)->first) << "a was evicted";
  EXPECT_FALSE(ids.Reserve("c", "PauseDomains", t0)->first);
}

}  // namespace
}  // namespace xenlet::agent

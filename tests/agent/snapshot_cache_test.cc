// SnapshotCache keeps what paged listings read, within its three bounds.
#include "agent/snapshot_cache.h"

#include "gtest/gtest.h"
#include "store/domain_table.h"

namespace xenlet::agent {
namespace {

// A snapshot at `revision` holding `domains` domains.
std::shared_ptr<const store::Snapshot> SnapshotOf(uint64_t revision,
                                                  uint32_t domains) {
  auto s = std::make_shared<store::Snapshot>();
  s->revision = revision;
  store::DomainTableBuilder builder(s->domains);
  for (uint32_t d = 0; d < domains; ++d) {
    builder.Set(d, std::make_shared<v1::Domain>());
  }
  s->domains = builder.Build();
  return s;
}

TEST(SnapshotCacheTest, FindsWhatItRetained) {
  SnapshotCache cache(4, absl::Minutes(5), 1000);
  cache.Retain(SnapshotOf(7, 10));
  ASSERT_NE(cache.Find(7), nullptr);
  EXPECT_EQ(cache.Find(7)->revision, 7u);
  EXPECT_EQ(cache.Find(8), nullptr);
}

TEST(SnapshotCacheTest, TheOldestGoFirstBeyondTheCount) {
  SnapshotCache cache(2, absl::Minutes(5), 1000);
  for (uint64_t r : {1, 2, 3}) cache.Retain(SnapshotOf(r, 1));
  EXPECT_EQ(cache.Find(1), nullptr);
  EXPECT_NE(cache.Find(2), nullptr);
  EXPECT_NE(cache.Find(3), nullptr);
}

// Big snapshots push the oldest out before the count is reached, which
// bounds the memory they pin.
TEST(SnapshotCacheTest, TheDomainsTheyHoldAreBounded) {
  SnapshotCache cache(64, absl::Minutes(5), 250);
  for (uint64_t r : {1, 2, 3}) cache.Retain(SnapshotOf(r, 100));
  EXPECT_EQ(cache.Find(1), nullptr);  // 300 > 250: the oldest went
  EXPECT_NE(cache.Find(2), nullptr);
  EXPECT_NE(cache.Find(3), nullptr);
  // Retaining one again moves it to the back without counting it twice.
  cache.Retain(SnapshotOf(2, 100));
  cache.Retain(SnapshotOf(4, 50));  // 100 + 100 + 50 = 250: all stay
  EXPECT_NE(cache.Find(3), nullptr);
  EXPECT_NE(cache.Find(2), nullptr);
  EXPECT_NE(cache.Find(4), nullptr);
}

// A walk over a snapshot bigger than the bound can still go on: the
// newest entry is never pushed out by its own size.
TEST(SnapshotCacheTest, OneSnapshotOverTheBoundStays) {
  SnapshotCache cache(64, absl::Minutes(5), 10);
  cache.Retain(SnapshotOf(1, 5));
  cache.Retain(SnapshotOf(2, 100));
  EXPECT_EQ(cache.Find(1), nullptr);
  EXPECT_NE(cache.Find(2), nullptr);
}

TEST(SnapshotCacheTest, OldEntriesExpire) {
  SnapshotCache cache(64, absl::ZeroDuration(), 1000);
  cache.Retain(SnapshotOf(1, 1));
  // max_age 0: anything retained before now is too old.
  const absl::Time retained = absl::Now();
  while (absl::Now() == retained) {
  }
  EXPECT_EQ(cache.Find(1), nullptr);
}

}  // namespace
}  // namespace xenlet::agent

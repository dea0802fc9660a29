#include "store/domid_set.h"

#include <vector>

#include "gtest/gtest.h"

namespace xenlet::store {
namespace {

TEST(DomidSetTest, InsertEraseAndIterateInOrder) {
  DomidSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_TRUE(set.insert(xen::kMaxDomid));
  EXPECT_TRUE(set.insert(0));
  EXPECT_TRUE(set.insert(64));
  EXPECT_TRUE(set.insert(63));
  EXPECT_FALSE(set.insert(63));  // already there
  EXPECT_EQ(set.size(), 4u);
  std::vector<uint32_t> seen;
  set.ForEach([&](uint32_t domid) { seen.push_back(domid); });
  EXPECT_EQ(seen, (std::vector<uint32_t>{0, 63, 64, xen::kMaxDomid}));
  EXPECT_TRUE(set.erase(63));
  EXPECT_FALSE(set.erase(63));
  EXPECT_FALSE(set.contains(63));
  EXPECT_TRUE(set.contains(64));
  EXPECT_EQ(set.size(), 3u);
}

TEST(DomidSetTest, ReservedDomidsAreNeverMembers) {
  DomidSet set;
  EXPECT_FALSE(set.insert(xen::kDomidFirstReserved));
  EXPECT_FALSE(set.insert(0x7FFF));  // DOMID_IDLE
  EXPECT_FALSE(set.contains(xen::kDomidFirstReserved));
  EXPECT_TRUE(set.empty());
}

TEST(DomidSetTest, IsFourKilobytesWhateverItHolds) {
  EXPECT_LE(sizeof(DomidSet), 4096u + 16u);
}

}  // namespace
}  // namespace xenlet::store

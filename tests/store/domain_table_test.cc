#include "store/domain_table.h"

#include <map>
#include <random>

#include "gtest/gtest.h"

namespace xenlet::store {
namespace {

DomainPtr MakeDomain(uint32_t domid, const std::string& name) {
  auto d = std::make_shared<v1::Domain>();
  d->set_domid(domid);
  d->set_name(name);
  return d;
}

std::vector<uint32_t> Domids(const DomainTable& table, uint32_t first = 0) {
  std::vector<uint32_t> out;
  table.ForEachFrom(first, [&](const DomainPtr& d) {
    out.push_back(d->domid());
    return true;
  });
  return out;
}

TEST(DomainTableTest, SetGetEraseAcrossChunks) {
  DomainTable::Builder builder{DomainTable()};
  for (uint32_t domid : {0u, 1u, 63u, 64u, 1000u, 32751u}) {
    builder.Set(domid, MakeDomain(domid, "d" + std::to_string(domid)));
  }
  builder.Erase(64);
  builder.Erase(5);  // absent: no effect
  DomainTable table = builder.Build();
  EXPECT_EQ(table.size(), 5u);
  EXPECT_EQ(Domids(table), (std::vector<uint32_t>{0, 1, 63, 1000, 32751}));
  EXPECT_EQ(Domids(table, 2), (std::vector<uint32_t>{63, 1000, 32751}));
  EXPECT_EQ(Domids(table, 32751), (std::vector<uint32_t>{32751}));
  EXPECT_EQ(table.Get(1000)->name(), "d1000");
  EXPECT_EQ(table.Get(64), nullptr);
  EXPECT_EQ(table.Get(40000), nullptr);
}

TEST(DomainTableTest, PublishedTablesNeverChange) {
  DomainTable::Builder builder{DomainTable()};
  builder.Set(7, MakeDomain(7, "old"));
  builder.Set(100, MakeDomain(100, "other"));
  DomainTable first = builder.Build();
  builder.Set(7, MakeDomain(7, "new"));
  builder.Erase(100);
  builder.Set(8, MakeDomain(8, "added"));
  DomainTable second = builder.Build();
  EXPECT_EQ(first.Get(7)->name(), "old");
  EXPECT_NE(first.Get(100), nullptr);
  EXPECT_EQ(first.Get(8), nullptr);
  EXPECT_EQ(first.size(), 2u);
  EXPECT_EQ(second.Get(7)->name(), "new");
  EXPECT_EQ(second.Get(100), nullptr);
  EXPECT_EQ(second.size(), 2u);
}

TEST(DomainTableTest, UntouchedDomainsAreSharedNotCopied) {
  DomainTable::Builder builder{DomainTable()};
  for (uint32_t domid = 0; domid < 32000; ++domid) {
    builder.Set(domid, MakeDomain(domid, ""));
  }
  DomainTable first = builder.Build();
  builder.Set(5, MakeDomain(5, "changed"));
  DomainTable second = builder.Build();
  // The same objects, not copies: only the pointer to domain 5 differs.
  EXPECT_EQ(first.Get(31999).get(), second.Get(31999).get());
  EXPECT_EQ(first.Get(6).get(), second.Get(6).get());
  EXPECT_NE(first.Get(5).get(), second.Get(5).get());
}

TEST(DomainTableTest, MatchesAReferenceMapUnderRandomChanges) {
  std::mt19937 rng(42);
  std::map<uint32_t, std::string> reference;
  DomainTable::Builder builder{DomainTable()};
  std::vector<std::pair<DomainTable, std::map<uint32_t, std::string>>> kept;
  for (int step = 0; step < 20000; ++step) {
    uint32_t domid = rng() % 300;
    if (rng() % 3 == 0) {
      builder.Erase(domid);
      reference.erase(domid);
    } else {
      std::string name = std::to_string(step);
      builder.Set(domid, MakeDomain(domid, name));
      reference[domid] = name;
    }
    if (step % 997 == 0) kept.emplace_back(builder.Build(), reference);
  }
  for (const auto& kept_pair : kept) {
    // Not a structured binding: clang-14 cannot capture one in a lambda.
    const auto& table = kept_pair.first;
    const auto& expected = kept_pair.second;
    ASSERT_EQ(table.size(), expected.size());
    auto it = expected.begin();
    table.ForEach([&](const DomainPtr& d) {
      ASSERT_NE(it, expected.end());
      EXPECT_EQ(d->domid(), it->first);
      EXPECT_EQ(d->name(), it->second);
      ++it;
    });
  }
}

}  // namespace
}  // namespace xenlet::store

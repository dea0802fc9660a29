// The real xenstored on the simulated host, through the project's
// xen::XenstoreClient (libxenstore): a domain's keys in libxl's transactions
// (counted in xenstored's own trace), @introduceDomain/@releaseDomain per
// domain, conflicts, and a daemon that dies and comes back.
#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "sim/toolstack.h"
#include "tests/sim/test_util.h"
#include "xen/errno_status.h"

namespace xenlet::sim {
namespace {

using testing::WatchCounter;
using xen::XenstoreTransaction;

constexpr absl::Duration kTimeout = absl::Seconds(10);

TEST(XenstoreTest, ThirtyKeysInOneTransaction) {
  // Every request on the host is counted: no simulated guest reading its
  // control/shutdown key on the side.
  XLSIM_ASSERT_OK_AND_ASSIGN(
      auto host, SimHost::Start({.trace = true, .simulated_guests = false}));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto ts, host->NewToolstack());
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts->CreateDomain({}));
  auto keys = Toolstack::DomainKeys(d.domid, d.uuid, d.name, {});
  ASSERT_GE(keys.size(), 30u);
  keys.resize(30);

  XLSIM_ASSERT_OK_AND_ASSIGN(auto xs, host->ConnectXenstore());
  XLSIM_ASSERT_OK_AND_ASSIGN(int64_t starts0,
                             host->CountTracedRequests("TRANSACTION_START"));
  XLSIM_ASSERT_OK_AND_ASSIGN(int64_t reads0, host->CountTracedRequests("READ"));
  std::vector<std::string> values;
  int attempts = 0;
  XLSIM_ASSERT_OK(xen::RunTransaction(
      *xs,
      [&](XenstoreTransaction& t) -> absl::Status {
        values.clear();
        for (const auto& [path, value] : keys) {
          auto v = t.Read(path);
          if (!v.ok()) return v.status();
          values.push_back(*v);
        }
        return absl::OkStatus();
      },
      {}, &attempts));
  EXPECT_EQ(attempts, 1);
  ASSERT_EQ(values.size(), 30u);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!keys[i].first.ends_with("start_time")) {
      EXPECT_EQ(values[i], keys[i].second);
    }
  }
  // xenstored traced each request before answering it.
  XLSIM_ASSERT_OK_AND_ASSIGN(int64_t starts1,
                             host->CountTracedRequests("TRANSACTION_START"));
  XLSIM_ASSERT_OK_AND_ASSIGN(int64_t reads1, host->CountTracedRequests("READ"));
  EXPECT_EQ(starts1 - starts0, 1);
  EXPECT_EQ(reads1 - reads0, 30);
}

TEST(XenstoreTest, IntroduceAndReleaseWatchesFirePerDomain) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host, SimHost::Start());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto ts, host->NewToolstack());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto watcher, host->ConnectXenstore());
  WatchCounter events(*watcher);
  XLSIM_ASSERT_OK(watcher->Watch("@introduceDomain", "intro"));
  XLSIM_ASSERT_OK(watcher->Watch("@releaseDomain", "release"));
  XLSIM_ASSERT_OK(watcher->Watch("/simtest/barrier", "barrier"));
  // One event for each xs_watch, at once.
  EXPECT_EQ(events.WaitFor("intro", 1, kTimeout), 1);
  EXPECT_EQ(events.WaitFor("release", 1, kTimeout), 1);
  EXPECT_EQ(events.WaitFor("barrier", 1, kTimeout), 1);

  constexpr int kDomains = 4;
  std::vector<Domid> domids;
  for (int i = 0; i < kDomains; ++i) {
    XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts->CreateDomain({}));
    domids.push_back(d.domid);
  }
  EXPECT_EQ(events.WaitFor("intro", 1 + kDomains, kTimeout), 1 + kDomains);
  XLSIM_ASSERT_OK(events.Drain("/simtest/barrier", "barrier", kTimeout));
  EXPECT_EQ(events.count("intro"), 1 + kDomains);
  EXPECT_EQ(events.count("release"), 1);  // creating fires no release

  for (Domid d : domids) XLSIM_ASSERT_OK(ts->DestroyDomain(d));
  EXPECT_EQ(events.WaitFor("release", 1 + kDomains, kTimeout), 1 + kDomains);
  XLSIM_ASSERT_OK(events.Drain("/simtest/barrier", "barrier", kTimeout));
  EXPECT_EQ(events.count("release"), 1 + kDomains);
  EXPECT_EQ(events.count("intro"), 1 + kDomains);

  // A shutdown fires one too (the domain stays introduced), then its
  // destruction another.
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts->CreateDomain({}));
  XLSIM_ASSERT_OK(ts->ShutdownDomain(d.domid, xen::ShutdownReason::kCrash));
  EXPECT_EQ(events.WaitFor("release", 2 + kDomains, kTimeout), 2 + kDomains);
  XLSIM_ASSERT_OK(ts->DestroyDomain(d.domid));
  EXPECT_EQ(events.WaitFor("release", 3 + kDomains, kTimeout), 3 + kDomains);
  XLSIM_ASSERT_OK(events.Drain("/simtest/barrier", "barrier", kTimeout));
  EXPECT_EQ(events.count("release"), 3 + kDomains);
}

// No toolstack involved: a change of the domain table alone wakes xenstored
// (the fake VIRQ_DOM_EXC), which notices the dying domain and releases it.
TEST(XenstoreTest, HypervisorDestroyAloneFiresReleaseDomain) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host, SimHost::Start());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto ts, host->NewToolstack());
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts->CreateDomain({}));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto watcher, host->ConnectXenstore());
  WatchCounter events(*watcher);
  XLSIM_ASSERT_OK(watcher->Watch("@releaseDomain", "release"));
  EXPECT_EQ(events.WaitFor("release", 1, kTimeout), 1);
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host->OpenHypervisor());
  XLSIM_ASSERT_OK(hv->DestroyDomain(d.domid));
  EXPECT_EQ(events.WaitFor("release", 2, kTimeout), 2);
  XLSIM_ASSERT_OK_AND_ASSIGN(bool introduced,
                             ts->xenstore().IsDomainIntroduced(d.domid));
  EXPECT_FALSE(introduced);
  // Introducing a domain the hypervisor does not have: the grant map of its
  // ring fails, and xenstored refuses with EINVAL.
  EXPECT_EQ(ts->xenstore().IntroduceDomain(30000, 0x1234, 1).code(),
            absl::StatusCode::kInvalidArgument);
  // xenstored asked the hypervisor about it: getdomaininfo hypercalls from
  // the daemon's process, counted in the shared state file.
  EXPECT_GT(host->state().Counts().Get(xen::HypercallKind::kGetDomainInfo), 0u);
}

TEST(XenstoreTest, ConflictingTransactionIsAbortedAndRetried) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host, SimHost::Start());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto a, host->ConnectXenstore());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto b, host->ConnectXenstore());
  const std::string key = "/simtest/counter";
  XLSIM_ASSERT_OK(a->Write(key, "0"));

  XLSIM_ASSERT_OK_AND_ASSIGN(auto t, a->BeginTransaction());
  XLSIM_ASSERT_OK(t->Read(key).status());
  XLSIM_ASSERT_OK(t->Write(key, "from-a"));
  XLSIM_ASSERT_OK(b->Write(key, "from-b"));
  absl::Status commit = t->Commit();
  EXPECT_EQ(commit.code(), absl::StatusCode::kAborted) << commit;
  EXPECT_EQ(xen::StatusErrno(commit), EAGAIN);
  EXPECT_EQ(*a->Read(key), "from-b");

  // RunTransaction: the first attempt is disturbed by another writer, the
  // retry commits.
  int attempts = 0;
  XLSIM_ASSERT_OK(xen::RunTransaction(
      *a,
      [&](XenstoreTransaction& txn) -> absl::Status {
        auto v = txn.Read(key);
        if (!v.ok()) return v.status();
        if (attempts == 1) {
          if (auto s = b->Write(key, "interference"); !s.ok()) return s;
        }
        return txn.Write(key, *v + "+1");
      },
      {}, &attempts));
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(*a->Read(key), "interference+1");
}

TEST(XenstoreTest, RestartedXenstoredIsALostConnection) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host, SimHost::Start());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto client, host->ConnectXenstore());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto watcher, host->ConnectXenstore());
  XLSIM_ASSERT_OK(client->Write("/simtest/a", "1"));
  XLSIM_ASSERT_OK(watcher->Watch("/simtest", "t"));
  WatchCounter events(*watcher);
  EXPECT_EQ(events.WaitFor("t", 1, kTimeout), 1);
  const pid_t old_pid = host->xenstored()->pid();

  XLSIM_ASSERT_OK(host->KillXenstored());
  absl::Status read = client->Read("/simtest/a").status();
  EXPECT_EQ(read.code(), absl::StatusCode::kUnavailable) << read;
  EXPECT_TRUE(xen::IsConnectionLost(read));
  auto event = watcher->NextWatchEvent(kTimeout);
  EXPECT_EQ(event.status().code(), absl::StatusCode::kUnavailable)
      << event.status();
  // Once lost, always lost: the caller reconnects.
  EXPECT_EQ(client->Write("/simtest/a", "2").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(host->ConnectXenstore().status().code(),
            absl::StatusCode::kUnavailable);

  XLSIM_ASSERT_OK(host->StartXenstored());
  EXPECT_NE(host->xenstored()->pid(), old_pid);
  XLSIM_ASSERT_OK_AND_ASSIGN(auto fresh, host->ConnectXenstore());
  // A restarted xenstored starts from an empty store.
  EXPECT_EQ(fresh->Read("/simtest/a").status().code(),
            absl::StatusCode::kNotFound);
  XLSIM_ASSERT_OK(fresh->Write("/simtest/a", "3"));
  EXPECT_EQ(*fresh->Read("/simtest/a"), "3");
  // The toolstack reconnects by itself.
  XLSIM_ASSERT_OK_AND_ASSIGN(auto ts, host->NewToolstack());
  XLSIM_ASSERT_OK(host->RestartXenstored());
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain d, ts->CreateDomain({}));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto after, host->ConnectXenstore());
  EXPECT_EQ(*after->Read(xen::DomainPath(d.domid) + "/name"), d.name);
}

TEST(XenstoreTest, ToolstackRestoresDomainsAfterRestart) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host, SimHost::Start());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto ts, host->NewToolstack());
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain a, ts->CreateDomain({}));
  XLSIM_ASSERT_OK_AND_ASSIGN(CreatedDomain b, ts->CreateDomain({.vcpus = 3}));
  XLSIM_ASSERT_OK(host->RestartXenstored());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto watcher, host->ConnectXenstore());
  WatchCounter events(*watcher);
  XLSIM_ASSERT_OK(watcher->Watch("@introduceDomain", "intro"));
  XLSIM_ASSERT_OK(ts->RestoreDomains());
  EXPECT_EQ(events.WaitFor("intro", 3, kTimeout), 3);
  XLSIM_ASSERT_OK_AND_ASSIGN(auto xs, host->ConnectXenstore());
  EXPECT_EQ(*xs->Read("/vm/" + b.uuid + "/uuid"), b.uuid);
  EXPECT_EQ(*xs->Read(xen::DomainPath(b.domid) + "/cpu/2/availability"),
            "online");
  EXPECT_TRUE(*xs->IsDomainIntroduced(a.domid));
}

}  // namespace
}  // namespace xenlet::sim

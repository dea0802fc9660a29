// SimHost stops everything it started and leaves the process as it was.
#include "sim/sim_host.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"
#include "tests/sim/test_util.h"

namespace xenlet::sim {
namespace {

TEST(SimHostTest, DestructorStopsXenstoredAndRemovesTheDirectory) {
  unsetenv(kStateEnv);
  pid_t pid;
  std::string dir;
  {
    XLSIM_ASSERT_OK_AND_ASSIGN(auto host, SimHost::Start());
    pid = host->xenstored()->pid();
    dir = host->dir();
    EXPECT_EQ(kill(pid, 0), 0);
    EXPECT_LT(host->socket_path().size(), 108u);
    EXPECT_EQ(std::string(getenv(kStateEnv)), host->state_path());
    for (const auto& [name, value] : host->PreloadEnv()) {
      if (name == "LD_PRELOAD") {
        EXPECT_EQ(access(value.c_str(), R_OK), 0);
      }
    }
  }
  errno = 0;
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(getenv(kStateEnv), nullptr);
}

TEST(SimHostTest, MissingXenstoredIsAPreconditionFailure) {
  auto host = SimHost::Start({.xenstored_binary = "/nonexistent/xenstored"});
  EXPECT_EQ(host.status().code(), absl::StatusCode::kFailedPrecondition)
      << host.status();
}

TEST(SimHostTest, HypervisorOnlyHost) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host,
                             SimHost::Start({.start_xenstored = false}));
  EXPECT_EQ(host->xenstored(), nullptr);
  EXPECT_EQ(host->state().Domids(), std::vector<Domid>{0});
  XLSIM_ASSERT_OK_AND_ASSIGN(auto hv, host->OpenHypervisor());
  XLSIM_ASSERT_OK_AND_ASSIGN(xen::DomainInfo dom0, hv->GetDomainInfo(0));
  // Dom0 runs part of the time and blocks the rest: one of the two.
  EXPECT_NE(dom0.running, dom0.blocked);
  EXPECT_FALSE(dom0.paused);
  EXPECT_EQ(dom0.nr_online_vcpus, 4u);
}

// The trace can be stopped and resumed, so a benchmark traces one query
// and times the others untraced; what is read meanwhile is not in it.
TEST(SimHostTest, TraceStopsAndResumes) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host, SimHost::Start({.trace = true}));
  XLSIM_ASSERT_OK_AND_ASSIGN(auto xs, host->ConnectXenstore());
  size_t from = 0;
  XLSIM_ASSERT_OK(host->TracedRequests(&from).status());
  ASSERT_EQ(xs->Read("/traced-before").status().code(),
            absl::StatusCode::kNotFound);
  XLSIM_ASSERT_OK(host->SetTrace(false));
  ASSERT_EQ(xs->Read("/untraced").status().code(), absl::StatusCode::kNotFound);
  XLSIM_ASSERT_OK(host->SetTrace(true));
  ASSERT_EQ(xs->Read("/traced-after").status().code(),
            absl::StatusCode::kNotFound);
  // One more request, so the last one's line is complete when read.
  ASSERT_EQ(xs->Read("/last").status().code(), absl::StatusCode::kNotFound);
  XLSIM_ASSERT_OK_AND_ASSIGN(std::vector<std::string> traced,
                             host->TracedRequests(&from));
  std::vector<std::string> reads;
  for (const std::string& r : traced) {
    if (r.rfind("READ ", 0) == 0) reads.push_back(r);
  }
  EXPECT_EQ(reads, (std::vector<std::string>{"READ (/traced-before )",
                                             "READ (/traced-after )",
                                             "READ (/last )"}));
}

TEST(SimHostTest, TraceControlNeedsATracedHost) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host, SimHost::Start());
  EXPECT_EQ(host->SetTrace(false).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace xenlet::sim

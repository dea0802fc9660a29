// xensim: its help explains every command, and a host driven through it
// works end to end.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tools/cpp/runfiles/runfiles.h"

namespace {

using bazel::tools::cpp::runfiles::Runfiles;

using Result = xenlet::testing::ProcessResult;

Result Xensim(const std::vector<std::string>& args) {
  std::string error;
  std::unique_ptr<Runfiles> runfiles(Runfiles::CreateForTest(&error));
  std::vector<std::string> full = {runfiles->Rlocation("xenlet/sim/xensim")};
  full.insert(full.end(), args.begin(), args.end());
  return xenlet::testing::RunProcess(full);
}

const std::vector<std::string> kCommands = {
    "up",     "down",          "env",      "xenstored",    "create",   "list",
    "pause",  "unpause",       "shutdown", "destroy",      "populate", "fault",
    "resume", "shutdown-code", "delay",    "clear-faults", "stats",    "bench"};

TEST(XensimCliTest, HelpExplainsEveryCommand) {
  Result help = Xensim({"--help"});
  EXPECT_EQ(help.code, 0) << help.out;
  EXPECT_TRUE(absl::StrContains(help.out, "--dir")) << help.out;
  for (const std::string& cmd : kCommands) {
    // Listed with a description on the same line.
    bool described = false;
    for (absl::string_view line : absl::StrSplit(help.out, '\n')) {
      std::string l(line);
      auto pos = l.find("  " + cmd + " ");
      if (pos != std::string::npos && l.size() > pos + cmd.size() + 10) {
        described = true;
      }
    }
    EXPECT_TRUE(described) << cmd << " not described in:\n" << help.out;
    Result sub = Xensim({cmd, "--help"});
    EXPECT_EQ(sub.code, 0) << cmd << ": " << sub.out;
    EXPECT_GT(sub.out.size(), 40u) << cmd;
  }
  EXPECT_NE(Xensim({"no-such-command"}).code, 0);
}

TEST(XensimCliTest, DrivesAHost) {
  char tmpl[] = "/tmp/xlsim-cli.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  // The daemon outlives each command: stop it whatever happens.
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      Xensim({"--dir", dir, "down"});
      std::filesystem::remove_all(dir);
    }
  } cleanup{dir};

  Result up = Xensim({"--dir", dir, "up"});
  ASSERT_EQ(up.code, 0) << up.out;
  EXPECT_TRUE(absl::StrContains(up.out, "export LD_PRELOAD=/")) << up.out;
  EXPECT_TRUE(absl::StrContains(up.out, "XENSTORED_PATH=" + dir + "/socket"));
  // `up` started the host's simulated guests: the shutdowns below are
  // answered by them (the toolstack only writes the request and waits).
  EXPECT_TRUE(std::filesystem::exists(dir + "/guests.pid"));
  Result created = Xensim({"--dir", dir, "create", "--count", "2"});
  ASSERT_EQ(created.code, 0) << created.out;
  EXPECT_TRUE(absl::StartsWith(created.out, "1 ")) << created.out;
  ASSERT_EQ(Xensim({"--dir", dir, "pause", "2"}).code, 0);
  ASSERT_EQ(
      Xensim({"--dir", dir, "shutdown", "1", "--reason", "watchdog"}).code, 0);
  Result list = Xensim({"--dir", dir, "list"});
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_TRUE(absl::StrContains(list.out, "shutdown(watchdog)")) << list.out;
  EXPECT_TRUE(absl::StrContains(list.out, "paused")) << list.out;
  EXPECT_TRUE(absl::StrContains(list.out, "sim-2")) << list.out;
  // Xen's errors come through: unpausing twice is EINVAL.
  ASSERT_EQ(Xensim({"--dir", dir, "unpause", "2"}).code, 0);
  Result again = Xensim({"--dir", dir, "unpause", "2"});
  EXPECT_NE(again.code, 0);
  EXPECT_TRUE(absl::StrContains(again.out, "INVALID_ARGUMENT")) << again.out;
  // A guest sets a code while running; the shutdown that follows reports
  // it (the first code sticks); a resume runs the domain again.
  Result created3 = Xensim({"--dir", dir, "create"});
  ASSERT_EQ(created3.code, 0) << created3.out;
  ASSERT_TRUE(absl::StartsWith(created3.out, "3 ")) << created3.out;
  ASSERT_EQ(
      Xensim({"--dir", dir, "shutdown-code", "3", "--reason", "crash"}).code,
      0);
  EXPECT_TRUE(absl::StrContains(Xensim({"--dir", dir, "list"}).out, "running"));
  ASSERT_EQ(Xensim({"--dir", dir, "shutdown", "3", "--reason", "suspend"}).code,
            0);
  EXPECT_TRUE(
      absl::StrContains(Xensim({"--dir", dir, "list"}).out, "shutdown(crash)"));
  ASSERT_EQ(Xensim({"--dir", dir, "resume", "3"}).code, 0);
  Result resumed = Xensim({"--dir", dir, "list"});
  EXPECT_FALSE(absl::StrContains(resumed.out, "shutdown(crash)"))
      << resumed.out;
  ASSERT_EQ(Xensim({"--dir", dir, "destroy", "1", "2", "3"}).code, 0);
  ASSERT_EQ(Xensim({"--dir", dir, "xenstored", "restart"}).code, 0);
  Result stats = Xensim({"--dir", dir, "stats"});
  EXPECT_TRUE(absl::StrContains(stats.out, "domains 1\n")) << stats.out;
  EXPECT_EQ(Xensim({"--dir", dir, "down"}).code, 0);
  // The guests stopped on SIGTERM and said what they answered.
  EXPECT_FALSE(std::filesystem::exists(dir + "/guests.pid"));
  std::ifstream log(dir + "/guests.log");
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_TRUE(absl::StrContains(text, "xensim guests: 1 requests")) << text;
}

}  // namespace

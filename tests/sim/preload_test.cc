// Another process runs against the simulated host with PreloadEnv(): the
// shim found through runfiles answers its hypercalls, and its calls are
// counted in the shared state file.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/sim_host.h"
#include "tests/sim/test_util.h"
#include "tools/cpp/runfiles/runfiles.h"

extern char** environ;

namespace xenlet::sim {
namespace {

using bazel::tools::cpp::runfiles::Runfiles;

// Runs argv with the extra environment; returns its stdout and exit code.
std::pair<std::string, int> RunChild(
    const std::vector<std::string>& args,
    const std::vector<std::pair<std::string, std::string>>& extra_env) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const auto& [k, v] : extra_env) env.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto a : args) argv.push_back(strdup(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int out[2];
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  pid_t pid;
  int rc =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  for (char* a : argv) free(a);
  close(out[1]);
  std::string output;
  char buf[4096];
  ssize_t n;
  while (rc == 0 && (n = read(out[0], buf, sizeof(buf))) > 0) {
    output.append(buf, n);
  }
  close(out[0]);
  int status = -1;
  if (rc == 0) waitpid(pid, &status, 0);
  return {output, rc == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(PreloadTest, ChildProcessRunsAgainstTheSimHost) {
  XLSIM_ASSERT_OK_AND_ASSIGN(auto host, SimHost::Start());
  XLSIM_ASSERT_OK_AND_ASSIGN(auto ts, host->NewToolstack());
  for (int i = 0; i < 3; ++i) XLSIM_ASSERT_OK(ts->CreateDomain({}).status());
  XLSIM_ASSERT_OK(ts->xenstore().Write("/simtest/key", "hello"));

  std::string error;
  std::unique_ptr<Runfiles> runfiles(Runfiles::CreateForTest(&error));
  ASSERT_NE(runfiles, nullptr) << error;
  const std::string child =
      runfiles->Rlocation("xenlet/tests/sim/preload_child");
  const auto env = host->PreloadEnv();
  ASSERT_EQ(env.size(), 3u);
  EXPECT_EQ(env[0].first, "LD_PRELOAD");
  EXPECT_EQ(env[0].second.front(), '/');

  const uint64_t before =
      host->state().Counts().Get(xen::HypercallKind::kGetDomainInfoList);
  auto [output, code] = RunChild({child}, env);
  EXPECT_EQ(code, 0) << output;
  EXPECT_EQ(output, "domains=4 key=hello\n");
  EXPECT_EQ(host->state().Counts().Get(xen::HypercallKind::kGetDomainInfoList),
            before + 1);

  // Without the preload there is no hypervisor.
  auto [bare, bare_code] = RunChild({child}, {});
  EXPECT_NE(bare_code, 0);
}

}  // namespace
}  // namespace xenlet::sim

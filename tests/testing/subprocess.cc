#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace xenlet::testing {

ProcessResult RunProcess(
    const std::vector<std::string>& args,
    const std::vector<std::pair<std::string, std::string>>& extra_env) {
  std::vector<std::string> owned_args = args;
  std::vector<char*> argv;
  for (auto& a : owned_args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.push_back(*e);
  for (const auto& [name, value] : extra_env) env.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  ProcessResult r;
  int out[2];
  if (argv.size() < 2 || pipe2(out, O_CLOEXEC) != 0) return r;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  pid_t pid;
  int rc =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  char buf[4096];
  ssize_t n;
  while (rc == 0 && (n = read(out[0], buf, sizeof(buf))) > 0) {
    r.out.append(buf, n);
  }
  close(out[0]);
  int status;
  if (rc == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
  }
  return r;
}

}  // namespace xenlet::testing

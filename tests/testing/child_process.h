// A child process a test starts: its stdout on a pipe the test reads line
// by line (with a deadline), its stderr in a file. Killed and reaped when
// destroyed, and killed when the thread that started it dies
// (PR_SET_PDEATHSIG), whatever happened to the test.
#ifndef XENLET_TESTS_TESTING_CHILD_PROCESS_H_
#define XENLET_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace xenlet::testing {

class Child {
 public:
  // argv[0] is the program's path; env replaces the environment.
  static std::unique_ptr<Child> Start(const std::vector<std::string>& argv,
                                      const std::vector<std::string>& env,
                                      const std::string& stderr_path);
  ~Child();

  // The next line of its stdout; nullopt at its end or past the deadline.
  std::optional<std::string> ReadLine(absl::Time deadline);

  // Sends sig and reaps it: its wait status, or -1 if it did not exit in
  // time (then it is killed). Its stdout is drained meanwhile, so that it
  // never blocks writing to a full pipe.
  int Stop(int sig, absl::Duration timeout = absl::Seconds(20));
  // Waits for it to exit by itself (Stop without a signal): its wait
  // status, or -1 if it was still running after `timeout` (then killed).
  int Wait(absl::Duration timeout);

  // True once it has exited; it is left to Stop or Wait to reap (for its
  // status).
  bool Exited() const;

  pid_t pid() const { return pid_; }

 private:
  Child(pid_t pid, int fd) : pid_(pid), fd_(fd) {}

  pid_t pid_;
  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_TESTING_CHILD_PROCESS_H_

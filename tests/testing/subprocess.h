// Runs a program to completion and captures what it printed: for tests
// that drive a command-line tool (xensim, the real xl).
#ifndef XENLET_TESTS_TESTING_SUBPROCESS_H_
#define XENLET_TESTS_TESTING_SUBPROCESS_H_

#include <string>
#include <utility>
#include <vector>

namespace xenlet::testing {

struct ProcessResult {
  std::string out;  // stdout and stderr, interleaved
  int code = -1;    // exit status; -1 if it could not run or was killed
};

// argv[0] is the program's path. The child gets this process's environment
// plus `extra_env` (later entries win).
ProcessResult RunProcess(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& extra_env = {});

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_TESTING_SUBPROCESS_H_

// A private temporary directory for one test, removed with everything in it
// when the object goes. Made under /tmp with a short name because Bazel's
// TEST_TMPDIR is too long for a unix socket path (108 bytes).
#ifndef XENLET_TESTS_TESTING_TEMP_DIR_H_
#define XENLET_TESTS_TESTING_TEMP_DIR_H_

#include <string>

namespace xenlet::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const;

 private:
  std::string path_;
};

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_TESTING_TEMP_DIR_H_

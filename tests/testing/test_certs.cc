#include "tests/testing/test_certs.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace xenlet::testing {
namespace {

void RunOrDie(const std::string& command) {
  std::string quiet = command + " >/dev/null 2>&1";
  if (std::system(quiet.c_str()) != 0) {
    std::fprintf(stderr, "test certificate command failed: %s\n",
                 command.c_str());
    std::abort();
  }
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TestCa::TestCa(const std::string& dir, const std::string& name) : dir_(dir) {
  ca_ = {dir + "/" + name + ".pem", dir + "/" + name + ".key"};
  RunOrDie("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" +
           name + " -keyout " + ca_.key + " -out " + ca_.cert);
}

CertFiles TestCa::Issue(const std::string& name, const std::string& subject,
                        const std::string& extensions) {
  CertFiles files{dir_ + "/" + name + ".pem", dir_ + "/" + name + ".key"};
  const std::string csr = dir_ + "/" + name + ".csr";
  const std::string ext = dir_ + "/" + name + ".ext";
  WriteFile(ext, extensions);
  RunOrDie("openssl req -newkey rsa:2048 -nodes -subj " + subject +
           " -keyout " + files.key + " -out " + csr);
  RunOrDie("openssl x509 -req -in " + csr + " -CA " + ca_.cert + " -CAkey " +
           ca_.key + " -set_serial " + std::to_string(++serial_) +
           " -days 2 -extfile " + ext + " -out " + files.cert);
  return files;
}

CertFiles TestCa::IssueServer(const std::string& name) {
  return Issue(name, "/CN=" + name,
               "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
               "extendedKeyUsage=serverAuth\n");
}

CertFiles TestCa::IssueClient(const std::string& common_name) {
  return Issue(common_name, "/CN=" + common_name,
               "extendedKeyUsage=clientAuth\n");
}

}  // namespace xenlet::testing

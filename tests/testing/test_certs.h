// Throwaway certificates for TLS tests, made with the openssl CLI: a CA, a
// server certificate for 127.0.0.1/localhost, and client certificates.
#ifndef XENLET_TESTS_TESTING_TEST_CERTS_H_
#define XENLET_TESTS_TESTING_TEST_CERTS_H_

#include <string>

namespace xenlet::testing {

struct CertFiles {
  std::string cert;  // PEM file paths
  std::string key;
};

class TestCa {
 public:
  // Creates the CA in dir; aborts the test binary if openssl fails.
  explicit TestCa(const std::string& dir, const std::string& name = "ca");

  const std::string& cert_file() const { return ca_.cert; }
  CertFiles IssueServer(const std::string& name);
  CertFiles IssueClient(const std::string& common_name);

 private:
  CertFiles Issue(const std::string& name, const std::string& subject,
                  const std::string& extensions);
  std::string dir_;
  CertFiles ca_;
  int serial_ = 1;
};

std::string ReadFileOrDie(const std::string& path);

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_TESTING_TEST_CERTS_H_

// TlsReloader: what it stages, what it refuses, and that a refused renewal
// leaves the served set alone. Certificates are made by openssl in the test.
#include "agent/tls_reloader.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"

namespace xenlet::agent {
namespace {

using xenlet::testing::CertFiles;
using xenlet::testing::ReadFileOrDie;

class TlsReloaderTest : public ::testing::Test {
 protected:
  TlsReloaderTest() : ca_(ca_dir_.path(), "test-ca") {}

  // The configured files, at fixed paths that renewals overwrite.
  TlsFiles Configured(bool with_ca = true) {
    return {dir_.File("server.pem"), dir_.File("server.key"),
            with_ca ? ca_.cert_file() : "", staging_.path()};
  }
  void Install(const CertFiles& files) {
    Write(dir_.File("server.pem"), ReadFileOrDie(files.cert));
    Write(dir_.File("server.key"), ReadFileOrDie(files.key));
  }
  static void Write(const std::string& path, const std::string& text) {
    std::ofstream(path + ".new") << text;
    std::filesystem::rename(path + ".new", path);
  }
  static std::string Staged(const TlsReloader& reloader,
                            const std::string& name) {
    return ReadFileOrDie(reloader.staging_dir() + "/current/" + name);
  }
  static void ExpectInvalid(const absl::Status& status,
                            const std::string& prefix,
                            const std::string& words) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_EQ(status.message().rfind(prefix, 0), 0u) << status;
    EXPECT_NE(status.message().find(words), std::string::npos) << status;
  }

  xenlet::testing::TempDir dir_, ca_dir_, staging_;
  xenlet::testing::TestCa ca_;
};

TEST_F(TlsReloaderTest, StagesAPrivateCopyAndRemovesItAtTheEnd) {
  CertFiles server = ca_.IssueServer("xenlet-host");
  Install(server);
  std::string staging_dir;
  {
    auto reloader = TlsReloader::Create(Configured());
    ASSERT_TRUE(reloader.ok()) << reloader.status();
    staging_dir = (*reloader)->staging_dir();
    EXPECT_EQ(std::filesystem::path(staging_dir).parent_path(),
              std::filesystem::path(staging_.path()));
    struct stat st;
    ASSERT_EQ(stat(staging_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(stat((staging_dir + "/current/key.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(Staged(**reloader, "cert.pem"), ReadFileOrDie(server.cert));
    EXPECT_EQ(Staged(**reloader, "key.pem"), ReadFileOrDie(server.key));
    EXPECT_EQ(Staged(**reloader, "ca.pem"), ReadFileOrDie(ca_.cert_file()));
    // The test CA issues for 2 days.
    const absl::Duration left = (*reloader)->not_after() - absl::Now();
    EXPECT_GT(left, absl::Hours(47));
    EXPECT_LT(left, absl::Hours(49));
    EXPECT_NE((*reloader)->ServerCredentials(), nullptr);
  }
  EXPECT_FALSE(std::filesystem::exists(staging_dir));
}

TEST_F(TlsReloaderTest, RefusesBadFilesNamingTheFlag) {
  CertFiles server = ca_.IssueServer("xenlet-host");
  CertFiles other = ca_.IssueServer("another-host");
  Install(server);

  TlsFiles missing = Configured();
  missing.cert_file = dir_.File("absent.pem");
  ExpectInvalid(TlsReloader::Create(missing).status(),
                "--tls-cert:", "cannot read");

  Write(dir_.File("garbage.pem"), "not a certificate\n");
  TlsFiles garbage = Configured();
  garbage.cert_file = dir_.File("garbage.pem");
  ExpectInvalid(TlsReloader::Create(garbage).status(),
                "--tls-cert:", "holds no PEM certificate");

  TlsFiles mismatched = Configured();
  mismatched.key_file = other.key;
  ExpectInvalid(TlsReloader::Create(mismatched).status(),
                "--tls-key:", "is not the key of the certificate");

  // An encrypted key would need a passphrase at a terminal: refused.
  const std::string encrypted = dir_.File("encrypted.key");
  ASSERT_EQ(std::system(("openssl pkey -in " + server.key +
                         " -aes256 -passout pass:secret -out " + encrypted +
                         " 2>/dev/null")
                            .c_str()),
            0);
  TlsFiles locked = Configured();
  locked.key_file = encrypted;
  ExpectInvalid(TlsReloader::Create(locked).status(),
                "--tls-key:", "encrypted key");

  TlsFiles bad_ca = Configured();
  bad_ca.client_ca_file = dir_.File("garbage.pem");
  ExpectInvalid(TlsReloader::Create(bad_ca).status(),
                "--tls-client-ca:", "holds no PEM certificate");
}

TEST_F(TlsReloaderTest, ReloadSwapsInGoodRenewalsAndKeepsTheOldOnBadOnes) {
  CertFiles first = ca_.IssueServer("first");
  Install(first);
  auto reloader = TlsReloader::Create(Configured(/*with_ca=*/false));
  ASSERT_TRUE(reloader.ok()) << reloader.status();
  EXPECT_TRUE(Staged(**reloader, "ca.pem").empty()) << "no client CA";

  auto unchanged = (*reloader)->Reload();
  ASSERT_TRUE(unchanged.ok()) << unchanged.status();
  EXPECT_FALSE(unchanged->changed);

  CertFiles second = ca_.IssueServer("second");
  Install(second);
  auto applied = (*reloader)->Reload();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->changed);
  EXPECT_NE(applied->subject.find("CN=second"), std::string::npos)
      << applied->subject;
  EXPECT_EQ(Staged(**reloader, "cert.pem"), ReadFileOrDie(second.cert));
  EXPECT_EQ(Staged(**reloader, "key.pem"), ReadFileOrDie(second.key));

  // Half a renewal: the new certificate is in place, its key is not yet.
  CertFiles third = ca_.IssueServer("third");
  Write(dir_.File("server.pem"), ReadFileOrDie(third.cert));
  auto refused = (*reloader)->Reload();
  ExpectInvalid(refused.status(), "--tls-key:", "is not the key");
  EXPECT_EQ(Staged(**reloader, "cert.pem"), ReadFileOrDie(second.cert));
  EXPECT_EQ(Staged(**reloader, "key.pem"), ReadFileOrDie(second.key));

  // The key follows; the next reload takes both. Old generations go.
  Write(dir_.File("server.key"), ReadFileOrDie(third.key));
  auto completed = (*reloader)->Reload();
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_TRUE(completed->changed);
  EXPECT_EQ(Staged(**reloader, "cert.pem"), ReadFileOrDie(third.cert));
  int generations = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator((*reloader)->staging_dir())) {
    if (entry.path().filename().string().rfind("gen-", 0) == 0) ++generations;
  }
  EXPECT_EQ(generations, 2) << "the served one and the one before it";
}

}  // namespace
}  // namespace xenlet::agent

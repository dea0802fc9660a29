// Channel setup from the global flags: which combinations are refused, and
// that errors name the flag. No connection is made (channels are lazy).
#include "tools/xenletctl/connection.h"

#include "gtest/gtest.h"

namespace xenlet::ctl {
namespace {

std::string Error(const ConnectionOptions& options) {
  auto channel = MakeChannel(options);
  return channel.ok() ? "" : std::string(channel.status().message());
}

TEST(IsLoopbackAddress, ParsesHosts) {
  EXPECT_TRUE(IsLoopbackAddress("localhost:7443"));
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:7443"));
  EXPECT_TRUE(IsLoopbackAddress("127.1.2.3:1"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:7443"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:7443"));
  EXPECT_FALSE(IsLoopbackAddress("127.evil.example:7443"));
  EXPECT_FALSE(IsLoopbackAddress("[::2]:7443"));
  EXPECT_FALSE(IsLoopbackAddress("example.org:443"));
  EXPECT_FALSE(IsLoopbackAddress("127.0.0.1"));  // no port
}

TEST(MakeChannel, DefaultsToTheSocket) {
  ConnectionOptions options;
  EXPECT_EQ(options.socket, "/run/xenlet/xenlet.sock");
  EXPECT_EQ(Error(options), "");
  options.socket = "";
  EXPECT_EQ(Error(options), "--socket: empty path");
}

TEST(MakeChannel, TlsFlagsNeedAnAddress) {
  ConnectionOptions options;
  options.tls_ca = "/nonexistent/ca.pem";
  EXPECT_EQ(Error(options).rfind("--tls-ca/--tls-cert/--tls-key: only with "
                                 "--address",
                                 0),
            0u);
}

TEST(MakeChannel, PlaintextOnlyToLoopback) {
  ConnectionOptions options;
  options.address = "127.0.0.1:7443";
  EXPECT_EQ(Error(options), "");
  options.address = "192.0.2.1:7443";
  EXPECT_EQ(Error(options).rfind("--address: plaintext only to loopback", 0),
            0u);
  options.address = "192.0.2.1";
  EXPECT_EQ(Error(options), "--address: '192.0.2.1' is not HOST:PORT");
}

TEST(MakeChannel, TlsFilesAreReadAndPaired) {
  ConnectionOptions options;
  options.address = "192.0.2.1:7443";
  options.tls_ca = "/nonexistent/ca.pem";
  EXPECT_EQ(Error(options), "--tls-ca: cannot read '/nonexistent/ca.pem'");
  options.tls_ca = "";
  options.tls_cert = "/nonexistent/cert.pem";
  EXPECT_EQ(Error(options), "--tls-cert/--tls-key: give both or neither");
  options.tls_key = "/nonexistent/key.pem";
  EXPECT_EQ(Error(options), "--tls-cert: cannot read '/nonexistent/cert.pem'");
}

}  // namespace
}  // namespace xenlet::ctl

#include "agent/listener.h"

#include "gtest/gtest.h"

namespace xenlet::agent {
namespace {

TEST(ListenerTest, RecognisesLoopback) {
  for (const char* host : {"127.0.0.1", "127.8.9.10", "::1", "localhost"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host :
       {"0.0.0.0", "10.0.0.1", "::", "192.168.1.1", "example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(ListenerTest, SplitsHostPort) {
  std::string host, port;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:7443", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, "7443");
  ASSERT_TRUE(SplitHostPort("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  for (const char* bad :
       {"127.0.0.1", ":80", "::1:80", "[::1]80", "host:99999", "host:x"}) {
    EXPECT_FALSE(SplitHostPort(bad, &host, &port)) << bad;
  }
}

absl::Status Validate(const std::string& tcp, const TlsFiles& tls = {},
                      const std::string& socket = "/run/xenlet/xenlet.sock") {
  ListenerOptions options;
  options.unix_socket = socket;
  options.tcp_address = tcp;
  options.tls = tls;
  return ValidateListenerOptions(options);
}

void ExpectInvalid(const absl::Status& status, const std::string& flag) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message().rfind("--" + flag + ":", 0), 0u) << status;
}

TEST(ListenerTest, DefaultIsTheUnixSocketAlone) {
  EXPECT_TRUE(ValidateListenerOptions({}).ok());
  EXPECT_EQ(ListenerOptions{}.unix_socket, "/run/xenlet/xenlet.sock");
  EXPECT_EQ(ListenerOptions{}.socket_mode, 0660u);
}

TEST(ListenerTest, PlaintextTcpOnlyOnLoopback) {
  EXPECT_TRUE(Validate("127.0.0.1:7443").ok());
  EXPECT_TRUE(Validate("[::1]:7443").ok());
  ExpectInvalid(Validate("0.0.0.0:7443"), "listen");
  ExpectInvalid(Validate("10.1.2.3:7443"), "listen");
  EXPECT_TRUE(Validate("0.0.0.0:7443", {"c.pem", "k.pem", "ca.pem"}).ok());
}

TEST(ListenerTest, RejectsIncompleteOrMisplacedTls) {
  ExpectInvalid(Validate("127.0.0.1:1", {"c.pem", "", ""}), "tls-key");
  ExpectInvalid(Validate("127.0.0.1:1", {"", "k.pem", ""}), "tls-cert");
  ExpectInvalid(Validate("127.0.0.1:1", {"", "", "ca.pem"}), "tls-client-ca");
  ExpectInvalid(Validate("", {"c.pem", "k.pem", ""}), "tls-cert");
}

TEST(ListenerTest, RejectsBadSocketsAndAddresses) {
  ExpectInvalid(Validate("", {}, ""), "socket");
  ExpectInvalid(Validate("", {}, "relative/xenlet.sock"), "socket");
  ExpectInvalid(Validate("", {}, "/" + std::string(120, 'x')), "socket");
  ExpectInvalid(Validate("nonsense"), "listen");
  EXPECT_TRUE(Validate("127.0.0.1:0", {}, "").ok());
}

}  // namespace
}  // namespace xenlet::agent

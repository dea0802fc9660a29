// fleet/nats/connection against real nats-servers: connecting, losing the
// server and getting it back (publishing across it), TLS and passwords.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fleet/nats/connection.h"
#include "fleet/nats/jetstream.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fleet/connection_events.h"
#include "tests/fleet/nats_server.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"

namespace xenlet::fleet::nats {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using xenlet::testing::ConnectionEvents;
using xenlet::testing::NatsServer;
using xenlet::testing::TempDir;

ConnectionOptions FastOptions(const std::string& url) {
  ConnectionOptions options;
  options.servers = {url};
  options.name = "connection_test";
  options.reconnect_wait = absl::Milliseconds(100);
  options.connect_timeout = absl::Seconds(2);
  return options;
}

StreamConfig TestStream() {
  return StreamConfig{.name = "EVENTS", .subjects = {"events.>"}};
}

TEST(SplitServerListTest, SplitsOnCommasAndDropsBlanks) {
  EXPECT_THAT(SplitServerList(" nats://a:4222, tls://b:4222,,"),
              ElementsAre("nats://a:4222", "tls://b:4222"));
  EXPECT_TRUE(SplitServerList("").empty());
}

TEST(ConnectionTest, OpenWithoutRetryFailsWhenNoServerAnswers) {
  ConnectionOptions options = FastOptions(
      "nats://127.0.0.1:" + std::to_string(xenlet::testing::PickFreePort()));
  options.retry_on_failed_connect = false;
  auto conn = Connection::Open(options);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(conn.status().message()),
              HasSubstr("nats: connect to nats://127.0.0.1:"));
}

TEST(ConnectionTest, OpenWithRetryConnectsWhenTheServerComesUp) {
  TempDir dir;
  const int port = xenlet::testing::PickFreePort();
  ConnectionEvents transitions;
  ConnectionOptions options =
      FastOptions("nats://127.0.0.1:" + std::to_string(port));
  options.on_connection_change = transitions.Listener();
  auto conn = Connection::Open(options);
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_FALSE((*conn)->connected());
  EXPECT_FALSE((*conn)->ConnectedNow());

  auto server = NatsServer::Start({.dir = dir.path(), .port = port});
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE((*conn)->WaitUntilConnected(absl::Seconds(10)));
  EXPECT_THAT(transitions.WaitFor(1, absl::Seconds(10)), ElementsAre(true));
  EXPECT_EQ((*conn)->reconnects(), 0u);
  EXPECT_EQ((*conn)->disconnects(), 0u);
  EXPECT_EQ((*conn)->ConnectedUrl(), server->url());
  EXPECT_TRUE(EnsureStream(**conn, TestStream()).ok());
}

class ReconnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = NatsServer::Start({.dir = dir_.path()});
    ASSERT_NE(server_, nullptr);
    ConnectionOptions options = FastOptions(server_->url());
    options.on_connection_change = transitions_.Listener();
    auto conn = Connection::Open(options);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
    ASSERT_TRUE(EnsureStream(*conn_, TestStream()).ok());
  }

  TempDir dir_;
  std::unique_ptr<NatsServer> server_;
  ConnectionEvents transitions_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(ReconnectTest, PublishFailsWhileTheServerIsDownAndWorksAfter) {
  for (const char* id : {"a", "b"}) {
    ASSERT_TRUE(Publish(*conn_, "events.h1", id, id, absl::Seconds(5)).ok());
  }

  ASSERT_TRUE(server_->Stop());
  EXPECT_THAT(transitions_.WaitFor(1, absl::Seconds(10)), ElementsAre(false));
  EXPECT_FALSE(conn_->connected());
  EXPECT_EQ(conn_->disconnects(), 1u);

  const absl::Duration max_wait = absl::Seconds(2);
  const absl::Time start = absl::Now();
  auto ack = Publish(*conn_, "events.h1", "c", "c", max_wait);
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(ack.ok());
  EXPECT_THAT(ack.status().code(), AnyOf(absl::StatusCode::kUnavailable,
                                         absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(std::string(ack.status().message()),
              HasSubstr("js_Publish to events.h1"));
  EXPECT_LE(took, max_wait + absl::Milliseconds(500));

  ASSERT_TRUE(server_->Restart());  // same port, same store
  EXPECT_TRUE(conn_->WaitUntilConnected(absl::Seconds(10)));
  EXPECT_THAT(transitions_.WaitFor(2, absl::Seconds(10)),
              ElementsAre(false, true));
  EXPECT_EQ(conn_->reconnects(), 1u);
  EXPECT_EQ(conn_->disconnects(), 1u);
  EXPECT_TRUE(conn_->ConnectedNow());

  ack = Publish(*conn_, "events.h1", "c", "c", max_wait);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_FALSE(ack->duplicate);
  EXPECT_EQ(ack->sequence, 3u);
  auto stored = ReadAll(*conn_, "EVENTS", "events.>");
  ASSERT_TRUE(stored.ok()) << stored.status();
  std::vector<std::string> ids;
  for (const StoredMessage& m : *stored) ids.push_back(m.msg_id);
  EXPECT_THAT(ids, ElementsAre("a", "b", "c"));
}

// What libnats 3.4.1 does on its own with a JetStream publish while it is
// reconnecting, and why Publish does not let it: js_Publish queues the
// message in the reconnect buffer, times out, and the message is sent
// (and stored) after the reconnect all the same.
TEST_F(ReconnectTest, LibnatsQueuesAPublishWhileReconnecting) {
  ASSERT_TRUE(server_->Stop());
  ASSERT_THAT(transitions_.WaitFor(1, absl::Seconds(10)), ElementsAre(false));

  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = 300;
  options.MsgId = "late";
  jsPubAck* ack = nullptr;
  natsStatus s = js_Publish(&ack, conn_->jetstream(), "events.h1", "x", 1,
                            &options, nullptr);
  EXPECT_EQ(s, NATS_TIMEOUT) << natsStatus_GetText(s);
  jsPubAck_Destroy(ack);

  ASSERT_TRUE(server_->Restart());
  ASSERT_TRUE(conn_->WaitUntilConnected(absl::Seconds(10)));
  // The queued message went out with the reconnect; a flush (a round trip
  // after it) makes sure the server has it.
  ASSERT_EQ(natsConnection_FlushTimeout(conn_->nats_connection(), 5000),
            NATS_OK);
  auto stored = ReadAll(*conn_, "EVENTS", "events.>");
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].msg_id, "late");
}

TEST_F(ReconnectTest, ClosedAfterMaxReconnects) {
  // A second connection that gives up after 2 rounds.
  ConnectionEvents transitions;
  ConnectionOptions options = FastOptions(server_->url());
  options.max_reconnects = 2;
  options.on_connection_change = transitions.Listener();
  auto conn = Connection::Open(options);
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE(server_->Stop());
  EXPECT_THAT(transitions.WaitFor(2, absl::Seconds(20)),
              ElementsAre(false, false));
  EXPECT_TRUE((*conn)->closed());
  EXPECT_FALSE((*conn)->WaitUntilConnected(absl::Milliseconds(1)));
  auto ack = Publish(**conn, "events.h1", "x", "x", absl::Seconds(1));
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kUnavailable);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { server_cert_ = ca_.IssueServer("server"); }

  std::unique_ptr<NatsServer> StartServer(bool verify_clients) {
    return NatsServer::Start(
        {.dir = dir_.path(),
         .tls_cert = server_cert_.cert,
         .tls_key = server_cert_.key,
         .tls_verify_ca = verify_clients ? ca_.cert_file() : ""});
  }

  TempDir dir_;
  xenlet::testing::TestCa ca_{dir_.path()};
  xenlet::testing::CertFiles server_cert_;
};

TEST_F(TlsTest, ConnectsWithTheCaAndFailsClearlyWithoutIt) {
  auto server = StartServer(/*verify_clients=*/false);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->url(), HasSubstr("tls://127.0.0.1:"));

  ConnectionOptions options = FastOptions(server->url());
  options.tls_ca = ca_.cert_file();
  auto conn = Connection::Open(options);
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_TRUE((*conn)->connected());
  EXPECT_TRUE(EnsureStream(**conn, TestStream()).ok());
  EXPECT_TRUE(Publish(**conn, "events.h1", "a", "a", absl::Seconds(5)).ok());

  options.tls_ca.clear();  // the system's CAs do not know this one
  conn = Connection::Open(options);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(conn.status().message()),
              HasSubstr("SSL handshake error: 20:unable to get local issuer "
                        "certificate"));

  // libnats switches to TLS by itself when the server requires it, and
  // then fails the same way.
  options.servers = {"nats://127.0.0.1:" + std::to_string(server->port())};
  conn = Connection::Open(options);
  ASSERT_FALSE(conn.ok());
  EXPECT_THAT(std::string(conn.status().message()),
              HasSubstr("unable to get local issuer certificate"));

  options.tls_ca = dir_.File("missing.pem");
  conn = Connection::Open(options);
  ASSERT_FALSE(conn.ok());
  EXPECT_THAT(std::string(conn.status().message()),
              HasSubstr("nats: TLS CA " + dir_.File("missing.pem")));
}

TEST_F(TlsTest, TlsClientAndAPlainServer) {
  auto server = NatsServer::Start({.dir = dir_.path()});
  ASSERT_NE(server, nullptr);
  ConnectionOptions options = FastOptions(server->url());
  options.tls_ca = ca_.cert_file();
  auto conn = Connection::Open(options);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(conn.status().message(), "nats: connect to " + server->url() +
                                         ": Secure Connection not available");
}

TEST_F(TlsTest, ClientCertificateForAServerThatVerifiesClients) {
  auto server = StartServer(/*verify_clients=*/true);
  ASSERT_NE(server, nullptr);
  xenlet::testing::CertFiles client = ca_.IssueClient("xenlet-publish");

  ConnectionOptions options = FastOptions(server->url());
  options.tls_ca = ca_.cert_file();
  options.tls_cert = client.cert;
  options.tls_key = client.key;
  auto conn = Connection::Open(options);
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_TRUE((*conn)->connected());

  // With TLS 1.3 the server refuses the client after the handshake: the
  // client just sees the connection close.
  options.tls_cert.clear();
  options.tls_key.clear();
  conn = Connection::Open(options);
  ASSERT_FALSE(conn.ok());
  EXPECT_THAT(std::string(conn.status().message()),
              HasSubstr("a TLS server that wants a client certificate"));
}

TEST(AuthTest, UserAndPassword) {
  TempDir dir;
  auto server = NatsServer::Start(
      {.dir = dir.path(), .user = "publisher", .password = "s3cret"});
  ASSERT_NE(server, nullptr);
  ConnectionOptions options = FastOptions(server->url());
  options.user = "publisher";
  options.password = "s3cret";
  auto conn = Connection::Open(options);
  ASSERT_TRUE(conn.ok()) << conn.status();

  // Even though it would retry a server that does not answer, Open fails
  // at once on a refused login, with the server's reason.
  options.password = "wrong";
  conn = Connection::Open(options);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnauthenticated)
      << conn.status();
  EXPECT_EQ(std::string(conn.status().message()),
            "nats: connect to " + server->url() +
                ": Authentication Violation: Authorization Violation");

  options.token = "t";
  conn = Connection::Open(options);
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace xenlet::fleet::nats

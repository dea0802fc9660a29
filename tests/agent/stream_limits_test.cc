// StreamLimits and PeerKey on their own: who counts as one peer, and the
// bounds' arithmetic (the server's use of them: hostile_clients_test).
#include "agent/stream_limits.h"

#include "gtest/gtest.h"

namespace xenlet::agent {
namespace {

TEST(PeerKeyTest, TcpPeersAreTheirAddressWithoutThePort) {
  EXPECT_EQ(PeerKey("ipv4:10.0.0.7:51234", nullptr), "ipv4:10.0.0.7");
  EXPECT_EQ(PeerKey("ipv6:[::1]:51234", nullptr), "ipv6:[::1]");
  EXPECT_EQ(PeerKey("ipv4:10.0.0.7:1", nullptr),
            PeerKey("ipv4:10.0.0.7:2", nullptr));
}

TEST(PeerKeyTest, UnixPeersAreTheirUid) {
  PeerCredentials credentials;
  credentials.Set(12, {1000, 100, 4242});
  credentials.Set(13, {1000, 100, 4343});
  credentials.Set(14, {0, 0, 1});
  EXPECT_EQ(PeerKey("fd:12", &credentials), "uid 1000");
  EXPECT_EQ(PeerKey("fd:13", &credentials), "uid 1000");
  EXPECT_EQ(PeerKey("fd:14", &credentials), "uid 0");
  // A connection the acceptor did not note: its gRPC name alone.
  EXPECT_EQ(PeerKey("fd:99", &credentials), "fd:99");
}

TEST(StreamLimitsTest, EachPeerHasItsShareWithinTheWhole) {
  StreamLimits limits({.max_streams = 5, .max_streams_per_peer = 3});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limits.Acquire("a").ok());
  absl::Status refused = limits.Acquire("a");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("from a (--max-streams-per-peer 3)"),
            std::string::npos)
      << refused.message();
  ASSERT_TRUE(limits.Acquire("b").ok());
  ASSERT_TRUE(limits.Acquire("b").ok());
  refused = limits.Acquire("c");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("(--max-streams 5)"), std::string::npos)
      << refused.message();
  EXPECT_EQ(limits.open(), 5u);
  EXPECT_EQ(limits.refused(), 2u);
  limits.Release("a");
  EXPECT_TRUE(limits.Acquire("c").ok());
  limits.Release("zzz");  // never acquired: ignored
  EXPECT_EQ(limits.open(), 5u);
}

}  // namespace
}  // namespace xenlet::agent

// The NATS flags, as an operator's nats CLI environment gives them.
#include "fleet/nats_flags.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace xenlet::fleet {
namespace {

absl::StatusOr<nats::ConnectionOptions> Parse(std::vector<std::string> args) {
  CLI::App app("test");
  NatsFlags flags;
  AddNatsFlags(app, &flags);
  std::vector<const char*> argv = {"test"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return MakeConnectionOptions(flags);
}

TEST(NatsFlagsTest, TimeoutsAreSecondsOrDurations) {
  auto plain = Parse({"--timeout", "3"});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->jetstream_timeout, absl::Seconds(3));
  auto go = Parse({"--timeout", "500ms"});
  ASSERT_TRUE(go.ok()) << go.status();
  EXPECT_EQ(go->jetstream_timeout, absl::Milliseconds(500));
  // NATS_TIMEOUT as the nats CLI's users set it.
  setenv("NATS_TIMEOUT", "2s", 1);
  auto env = Parse({});
  unsetenv("NATS_TIMEOUT");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->jetstream_timeout, absl::Seconds(2));
  EXPECT_FALSE(Parse({"--timeout", "soon"}).ok());
}

TEST(NatsFlagsTest, ServersAndAuthentication) {
  auto o = Parse({"-s", "nats://a:4222, tls://b:4222", "--user", "u",
                  "--password", "p", "--tlsca", "/ca.pem"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->servers,
            (std::vector<std::string>{"nats://a:4222", "tls://b:4222"}));
  EXPECT_EQ(o->user, "u");
  EXPECT_TRUE(o->tls);
  EXPECT_EQ(o->ping_interval, absl::Seconds(5));
  for (auto bad :
       std::vector<std::vector<std::string>>{{"--user", "u", "--token", "t"},
                                             {"--password", "p"},
                                             {"--tlscert", "c.pem"},
                                             {"--server", " , "}}) {
    auto s = Parse(bad);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad[0];
  }
}

}  // namespace
}  // namespace xenlet::fleet

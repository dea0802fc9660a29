// A user's NKey from its seed, and `--nkey FILE` against a real nats-server
// that knows the user only by that public key (it verifies the nonce the
// client signs with the seed, so a wrong derivation cannot log in).
#include "fleet/nats/nkey.h"

#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "fleet/nats/connection.h"
#include "fleet/nats_flags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fleet/nats_server.h"
#include "tests/testing/temp_dir.h"

namespace xenlet::fleet::nats {
namespace {

using ::testing::HasSubstr;

// The example user of the NATS documentation (nkey authentication).
constexpr char kDocSeed[] =
    "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
constexpr char kDocPublic[] =
    "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";

std::string Write(const xenlet::testing::TempDir& dir, const std::string& name,
                  const std::string& text) {
  const std::string path = dir.File(name);
  std::ofstream(path) << text;
  return path;
}

TEST(NKeyTest, ThePublicKeyOfTheDocumentedSeed) {
  auto key = NKeyUserPublicKey(kDocSeed);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, kDocPublic);
}

TEST(NKeyTest, BadSeedsSayWhatIsWrong) {
  auto message = [](absl::string_view seed) {
    return std::string(NKeyUserPublicKey(seed).status().message());
  };
  EXPECT_THAT(message("SUACSSL3UAHUD0KF"), HasSubstr("'0' is not base32"));
  EXPECT_THAT(message("SUACSS"), HasSubstr("58 characters"));
  std::string bad_sum = kDocSeed;
  bad_sum.back() = 'A';
  EXPECT_THAT(message(bad_sum), HasSubstr("checksum"));
  // A public key is no seed.
  EXPECT_THAT(message(kDocPublic), HasSubstr("58 characters"));
}

TEST(NKeyTest, SeedFiles) {
  xenlet::testing::TempDir dir;
  // An .nk file may hold comments and blank lines around the seed.
  auto seed = ReadNKeySeedFile(
      Write(dir, "user.nk",
            absl::StrCat("# xenlet-publish\n\n  ", kDocSeed, "  \n")));
  ASSERT_TRUE(seed.ok()) << seed.status();
  EXPECT_EQ(*seed, kDocSeed);
  EXPECT_EQ(ReadNKeySeedFile(Write(dir, "empty.nk", "UABC\n")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadNKeySeedFile(dir.File("missing.nk")).status().code(),
            absl::StatusCode::kNotFound);
}

// A key made here, the server told its public key, and the client only
// its seed file: the server checks the signature.
TEST(NKeyTest, LogsInWithTheSeedFileAlone) {
  std::array<uint8_t, 32> raw;
  std::mt19937_64 random(std::random_device{}());
  for (uint8_t& b : raw) b = static_cast<uint8_t>(random());
  const std::string seed = EncodeNKeyUserSeed(raw);
  ASSERT_EQ(seed.substr(0, 2), "SU");
  auto public_key = NKeyUserPublicKey(seed);
  ASSERT_TRUE(public_key.ok()) << public_key.status();
  ASSERT_EQ(public_key->substr(0, 1), "U");

  xenlet::testing::TempDir dir;
  const std::string config =
      Write(dir, "server.conf",
            absl::StrCat("authorization { users = [ { nkey: \"", *public_key,
                         "\" } ] }\n"));
  auto server = xenlet::testing::NatsServer::Start(
      {.dir = dir.path(), .extra_args = {"--config", config}});
  ASSERT_NE(server, nullptr);

  NatsFlags flags;
  flags.server = server->url();
  flags.nkey = Write(dir, "user.nk", seed + "\n");
  auto options = MakeConnectionOptions(flags);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->nkey, *public_key);
  options->retry_on_failed_connect = false;
  auto conn = Connection::Open(*options);
  EXPECT_TRUE(conn.ok()) << conn.status();

  // Another user's seed is refused by the server.
  flags.nkey = Write(dir, "other.nk", std::string(kDocSeed) + "\n");
  options = MakeConnectionOptions(flags);
  ASSERT_TRUE(options.ok()) << options.status();
  options->retry_on_failed_connect = false;
  conn = Connection::Open(*options);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnauthenticated)
      << conn.status();

  // A file without a seed, or --nkey with another way: flag errors.
  flags.nkey = Write(dir, "public.nk", std::string(kDocPublic) + "\n");
  EXPECT_THAT(std::string(MakeConnectionOptions(flags).status().message()),
              HasSubstr("--nkey: no user NKey seed"));
  flags.nkey = dir.File("user.nk");
  flags.token = "t";
  EXPECT_THAT(std::string(MakeConnectionOptions(flags).status().message()),
              HasSubstr("at most one way"));
}

}  // namespace
}  // namespace xenlet::fleet::nats

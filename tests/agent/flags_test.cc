// xenlet's command line: every flag is explained by --help, and bad values
// are refused with the flag's name. The flag file (--config): it sets
// values, the command line wins over it, an unknown key or a missing file is
// an error naming it, and the shipped example (deploy/systemd/xenlet.conf)
// names every flag at its default.
#include "agent/flags.h"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace xenlet::agent {
namespace {

absl::Status ParseArgs(std::vector<std::string> args, AgentConfig* config) {
  auto app = MakeAgentApp(config);
  std::vector<const char*> argv = {"xenlet"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app->parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return FinishConfig(config);
}

TEST(FlagsTest, HelpExplainsEveryFlag) {
  AgentConfig config;
  auto app = MakeAgentApp(&config);
  const std::string help = app->help();
  for (const CLI::Option* option : app->get_options()) {
    const std::string name = option->get_name();
    EXPECT_NE(help.find(name), std::string::npos) << name;
    EXPECT_FALSE(option->get_description().empty()) << name << " has no text";
  }
  for (const char* flag :
       {"--socket", "--socket-mode", "--socket-group", "--listen", "--tls-cert",
        "--tls-key", "--tls-client-ca", "--enable-control", "--control-client",
        "--xenstore-socket", "--shutdown-grace", "--log-level", "--log-format",
        "--version", "--help"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

TEST(FlagsTest, DefaultsAreSafe) {
  AgentConfig config;
  ASSERT_TRUE(ParseArgs({}, &config).ok());
  EXPECT_EQ(config.server.listeners.unix_socket, "/run/xenlet/xenlet.sock");
  EXPECT_EQ(config.server.listeners.socket_mode, 0660u);
  EXPECT_TRUE(config.server.listeners.tcp_address.empty());
  EXPECT_FALSE(config.server.control.enabled);
}

TEST(FlagsTest, ParsesValues) {
  AgentConfig config;
  ASSERT_TRUE(ParseArgs({"--socket-mode", "0600", "--listen", "127.0.0.1:0",
                         "--enable-control", "--control-client", "a",
                         "--control-client", "b", "--log-format", "json"},
                        &config)
                  .ok());
  EXPECT_EQ(config.server.listeners.socket_mode, 0600u);
  EXPECT_TRUE(config.server.control.enabled);
  EXPECT_EQ(config.server.control.allowed_clients,
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(config.parsed_log_format, LogFormat::kJson);
}

TEST(FlagsTest, RefusesBadValuesNamingTheFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--socket-mode", "999"}, "--socket-mode"},
      {{"--socket-mode", "rw"}, "--socket-mode"},
      {{"--log-level", "loud"}, "--log-level"},
      {{"--log-format", "xml"}, "--log-format"},
      {{"--listen", "0.0.0.0:7443"}, "--listen"},
      {{"--shutdown-grace", "-1"}, "--shutdown-grace"},
      {{"--no-such-flag"}, "--no-such-flag"},
  };
  for (const auto& [args, flag] : cases) {
    AgentConfig config;
    absl::Status status = ParseArgs(args, &config);
    EXPECT_FALSE(status.ok()) << args[0];
    EXPECT_NE(status.message().find(flag), std::string::npos) << status;
  }
}

std::string WriteFile(const testing::TempDir& dir, const std::string& name,
                      const std::string& text) {
  const std::string path = dir.File(name);
  std::ofstream(path) << text;
  return path;
}

TEST(FlagFileTest, SetsValues) {
  testing::TempDir dir;
  const std::string file = WriteFile(dir, "xenlet.conf",
                                     "# a comment\n"
                                     "; another\n"
                                     "sweep-interval = 2.5\n"
                                     "log-format = \"json\"\n"
                                     "enable-control = true\n"
                                     "control-uid = [0, 1000]\n"
                                     "control-gid = []\n"
                                     "xenstore-keys = [\"name\", \"vm\"]\n"
                                     "socket-mode = 0600  # owner only\n"
                                     "metrics-address = \"\"\n"
                                     "socket = \"/run/x/y.sock\"\n");
  AgentConfig config;
  ASSERT_TRUE(ParseArgs({"--config", file}, &config).ok());
  EXPECT_EQ(config.sweep_interval_seconds, 2.5);
  EXPECT_EQ(config.parsed_log_format, LogFormat::kJson);
  EXPECT_TRUE(config.server.control.enabled);
  EXPECT_EQ(config.server.control.allowed_uids, (std::vector<uid_t>{0, 1000}));
  EXPECT_TRUE(config.server.control.allowed_gids.empty());
  EXPECT_EQ(config.model.watcher.keys,
            (std::vector<std::string>{"name", "vm"}));
  EXPECT_EQ(config.server.listeners.socket_mode, 0600u);
  EXPECT_EQ(config.metrics_address, "");
  EXPECT_EQ(config.server.listeners.unix_socket, "/run/x/y.sock");
}

TEST(FlagFileTest, TheCommandLineWins) {
  testing::TempDir dir;
  const std::string file = WriteFile(dir, "xenlet.conf",
                                     "sweep-interval = 2\n"
                                     "log-level = debug\n"
                                     "xenstore-keys = [\"name\", \"vm\"]\n");
  for (bool flags_first : {true, false}) {
    std::vector<std::string> args = {"--sweep-interval", "3", "--xenstore-keys",
                                     "domid"};
    if (flags_first) {
      args.insert(args.end(), {"--config", file});
    } else {
      args.insert(args.begin(), {"--config", file});
    }
    AgentConfig config;
    ASSERT_TRUE(ParseArgs(args, &config).ok());
    EXPECT_EQ(config.sweep_interval_seconds, 3);
    // Not on the command line: the file's.
    EXPECT_EQ(config.parsed_log_level, LogLevel::kDebug);
    // A repeatable flag given on the command line replaces the file's list.
    EXPECT_EQ(config.model.watcher.keys, (std::vector<std::string>{"domid"}));
  }
}

TEST(FlagFileTest, ErrorsNameTheKeyAndTheFile) {
  testing::TempDir dir;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      // A misspelt flag: the key and the file.
      {"sweep-intervall = 2\n", {"sweep-intervall", "unknown key"}},
      {"[xenlet]\nsweep-interval = 2\n", {"[xenlet]", "section"}},
      {"config = \"/etc/other.conf\"\n", {"--config"}},
      {"help = true\n", {"--help"}},
      // A list with a default cannot be emptied (one without can: []).
      {"xenstore-keys = []\n", {"xenstore-keys", "empty"}},
      // The file's values are checked as the command line's are.
      {"sweep-interval = 0\n", {"--sweep-interval"}},
      {"log-level = loud\n", {"--log-level"}},
      {"listen = \"0.0.0.0:7443\"\n", {"--listen", "TLS"}},
  };
  int i = 0;
  for (const auto& [text, words] : cases) {
    const std::string file =
        WriteFile(dir, absl::StrCat("bad", i++, ".conf"), text);
    AgentConfig config;
    absl::Status status = ParseArgs({"--config", file}, &config);
    ASSERT_FALSE(status.ok()) << text;
    for (const std::string& word : words) {
      EXPECT_NE(status.message().find(word), std::string::npos)
          << "\"" << word << "\" not in: " << status.message();
    }
    if (words.front() == "sweep-intervall" || words.front() == "[xenlet]") {
      EXPECT_NE(status.message().find(file), std::string::npos) << status;
    }
  }
}

TEST(FlagFileTest, AMissingFileIsAnErrorNamingIt) {
  testing::TempDir dir;
  for (const std::string& file :
       {dir.File("no-such.conf"), dir.path() /* a directory */}) {
    AgentConfig config;
    absl::Status status = ParseArgs({"--config", file}, &config);
    ASSERT_FALSE(status.ok()) << file;
    EXPECT_NE(status.message().find(file), std::string::npos) << status;
  }
}

TEST(FlagFileTest, HelpExplainsTheFormat) {
  AgentConfig config;
  const std::string help = MakeAgentApp(&config)->help();
  for (const char* words : {"--config FILE", "name = value", "'#'",
                            "command line win", "unknown name"}) {
    EXPECT_NE(help.find(words), std::string::npos) << words;
  }
}

// deploy/systemd/xenlet.conf: every flag a file may set, once, commented
// out ("#name = value") at its default; uncommented, it parses and changes
// nothing.
TEST(FlagFileTest, TheShippedExampleNamesEveryFlagAtItsDefault) {
  std::ifstream in(std::string(getenv("TEST_SRCDIR")) + "/" +
                   getenv("TEST_WORKSPACE") + "/deploy/systemd/xenlet.conf");
  ASSERT_TRUE(in.good());
  const std::regex setting("^#([a-z][a-z0-9-]*) = (.*)$");
  std::string line, uncommented;
  std::set<std::string> keys;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, setting)) {
      EXPECT_TRUE(keys.insert(m[1]).second) << m[1] << " twice";
      uncommented += line.substr(1) + "\n";
    }
  }
  AgentConfig defaults;
  auto app = MakeAgentApp(&defaults);
  for (const CLI::Option* option : app->get_options()) {
    const std::string name(absl::StripPrefix(option->get_name(), "--"));
    EXPECT_EQ(keys.count(name) > 0, option->get_configurable())
        << "--" << name
        << (option->get_configurable() ? " is not in xenlet.conf"
                                       : " cannot be set in a file");
  }

  testing::TempDir dir;
  const std::string file = WriteFile(dir, "all.conf", uncommented);
  AgentConfig config;
  auto parsed = MakeAgentApp(&config);
  std::vector<const char*> argv = {"xenlet", "--config", file.c_str()};
  ASSERT_NO_THROW(parsed->parse(3, const_cast<char**>(argv.data())));
  ASSERT_TRUE(FinishConfig(&config).ok());
  // Each value with a default is that default ("[a,b]" for a list).
  for (const CLI::Option* option : parsed->get_options()) {
    std::string def = option->get_default_str();
    if (def.empty() || option->count() == 0) continue;
    if (def.size() >= 2 && def.front() == '[' && def.back() == ']') {
      def = def.substr(1, def.size() - 2);
    }
    EXPECT_EQ(absl::StrJoin(option->results(), ","), def)
        << option->get_name() << " is not at its default in xenlet.conf";
  }
}

}  // namespace
}  // namespace xenlet::agent

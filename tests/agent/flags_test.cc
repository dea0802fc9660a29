// xenlet's command line: every flag is explained by --help, and bad values
// are refused with the flag's name.
#include "agent/flags.h"

#include <vector>

#include "gtest/gtest.h"

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

}  // namespace
}  // namespace xenlet::agent

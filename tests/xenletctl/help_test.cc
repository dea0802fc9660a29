// xenletctl's help: every verb's ends with examples, the top-level one lists
// the exit codes, and README.md (the reference) documents the same exit
// codes word for word and every flag the help shows.
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tools/xenletctl/commands.h"
#include "tools/xenletctl/exit_codes.h"

namespace xenlet::ctl {
namespace {

const char* const kVerbs[] = {"health",  "list",  "get",     "watch",
                              "host",    "pause", "unpause", "shutdown",
                              "destroy", "fleet"};

// Every verb as its command line says it, the verbs of groups included.
std::vector<std::vector<std::string>> VerbPaths() {
  std::vector<std::vector<std::string>> paths;
  for (const char* verb : kVerbs) paths.push_back({verb});
  paths.push_back({"fleet", "list"});
  paths.push_back({"fleet", "watch"});
  return paths;
}

std::string Joined(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& w : words) text += (text.empty() ? "" : " ") + w;
  return text;
}

std::string Help(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"xenletctl"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back("--help");
  std::ostringstream out, err;
  EXPECT_EQ(RunCli(argv.size(), argv.data(), out, err), kExitOk) << err.str();
  return out.str();
}

std::string Readme() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::ifstream in(absl::StrCat(srcdir == nullptr ? "." : srcdir,
                                "/xenlet/tools/xenletctl/", "README.md"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The text after the last "Examples:": indented lines only.
void ExpectEndsWithExamples(const std::string& help, const std::string& who) {
  size_t at = help.rfind("\nExamples:\n");
  ASSERT_NE(at, std::string::npos) << who << ":\n" << help;
  std::istringstream rest(help.substr(at + 11));
  int examples = 0;
  for (std::string line; std::getline(rest, line);) {
    if (line.empty()) continue;
    EXPECT_EQ(line.rfind("  xenletctl ", 0) == 0 ||
                  line.rfind("  until xenletctl ", 0) == 0,
              true)
        << who << ": " << line;
    ++examples;
  }
  EXPECT_GE(examples, 2) << who;
}

TEST(Help, TopLevelListsExitCodesThenExamples) {
  const std::string help = Help({});
  ExpectEndsWithExamples(help, "xenletctl --help");
  const size_t codes = help.find("\nExit codes:\n");
  ASSERT_NE(codes, std::string::npos) << help;
  EXPECT_LT(codes, help.rfind("\nExamples:\n"));
  for (const ExitCodeDoc& doc : kExitCodeDocs) {
    EXPECT_NE(help.find(absl::StrCat("\n  ", doc.code, ": ")),
              std::string::npos)
        << doc.code;
  }
  for (const char* verb : kVerbs) {
    EXPECT_NE(help.find(absl::StrCat("  ", verb, " ")), std::string::npos)
        << verb;
  }
}

TEST(Help, EveryVerbEndsWithExamples) {
  for (const auto& verb : VerbPaths()) {
    const std::string help = Help(verb);
    ExpectEndsWithExamples(help, Joined(verb));
    EXPECT_NE(help.find("Global flags"), std::string::npos) << Joined(verb);
  }
}

TEST(Help, FleetVerbsHaveTheNatsFlags) {
  for (const char* verb : {"list", "watch"}) {
    const std::string help = Help({"fleet", verb});
    for (const char* flag :
         {"-s,--server", "--creds", "--tlsca", "--timeout", "--host"}) {
      EXPECT_NE(help.find(flag), std::string::npos) << verb << " " << flag;
    }
    // Examples of this verb, not of the agent's list or watch.
    EXPECT_NE(help.find(absl::StrCat("  xenletctl fleet ", verb)),
              std::string::npos)
        << help;
  }
}

TEST(Readme, HasTheExitCodesOfTheHelp) {
  const std::string readme = Readme();
  ASSERT_FALSE(readme.empty());
  for (const ExitCodeDoc& doc : kExitCodeDocs) {
    EXPECT_NE(
        readme.find(absl::StrCat("| ", doc.code, " | ", doc.meaning, " |")),
        std::string::npos)
        << "README.md's exit code table lacks: | " << doc.code << " | "
        << doc.meaning << " |";
  }
}

TEST(Readme, DocumentsEveryFlagOfTheHelp) {
  const std::string readme = Readme();
  ASSERT_FALSE(readme.empty());
  const std::regex flag("--[a-z][a-z-]*[a-z]");
  std::vector<std::vector<std::string>> helps = {{}};
  for (const auto& verb : VerbPaths()) helps.push_back(verb);
  for (const auto& args : helps) {
    const std::string help = Help(args);
    std::set<std::string> flags;
    for (auto it = std::sregex_iterator(help.begin(), help.end(), flag);
         it != std::sregex_iterator(); ++it) {
      flags.insert(it->str());
    }
    EXPECT_FALSE(flags.empty());
    for (const std::string& f : flags) {
      // Whole flag names: "--count" must not be found as "--count-x".
      const std::regex whole(f + "([^a-z-]|$)");
      EXPECT_TRUE(std::regex_search(readme, whole))
          << "README.md does not mention " << f << " (xenletctl "
          << (args.empty() ? "" : Joined(args) + " ") << "--help)";
    }
  }
}

TEST(Help, UsageErrorsPointToTheVerbsHelp) {
  const char* argv[] = {"xenletctl", "list", "--interval", "5"};
  std::ostringstream out, err;
  EXPECT_EQ(RunCli(4, argv, out, err), kExitUsage);
  EXPECT_EQ(err.str(),
            "xenletctl: --interval requires --watch\n"
            "Run 'xenletctl list --help' for usage and examples.\n");

  const char* unknown[] = {"xenletctl", "frobnicate"};
  std::ostringstream out2, err2;
  EXPECT_EQ(RunCli(2, unknown, out2, err2), kExitUsage);
  EXPECT_NE(err2.str().find("Run 'xenletctl --help' for usage and examples."),
            std::string::npos)
      << err2.str();

  const char* missing[] = {"xenletctl", "get"};
  std::ostringstream out3, err3;
  EXPECT_EQ(RunCli(2, missing, out3, err3), kExitUsage);
  EXPECT_NE(err3.str().find("Run 'xenletctl get --help'"), std::string::npos)
      << err3.str();
}

}  // namespace
}  // namespace xenlet::ctl

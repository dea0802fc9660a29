#include "common/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace xenlet {
namespace {

TEST(LogTest, TextLinesAreEventAndFields) {
  EXPECT_EQ(FormatLogLine(
                LogFormat::kText, LogLevel::kInfo, "T", "serving",
                {{"socket", "/run/x.sock"}, {"port", 0}, {"control", false}}),
            "T INFO serving socket=/run/x.sock port=0 control=false");
}

TEST(LogTest, TextQuotesAmbiguousValues) {
  EXPECT_EQ(FormatLogLine(LogFormat::kText, LogLevel::kError, "T", "failed",
                          {{"error", "no such file"}, {"empty", ""}}),
            "T ERROR failed error=\"no such file\" empty=\"\"");
}

TEST(LogTest, JsonLinesEscapeStrings) {
  EXPECT_EQ(
      FormatLogLine(LogFormat::kJson, LogLevel::kWarning, "T", "odd",
                    {{"text", "a \"b\"\n\\c\x01"}, {"count", 3}, {"ok", true}}),
      "{\"ts\":\"T\",\"level\":\"warning\",\"event\":\"odd\","
      "\"text\":\"a \\\"b\\\"\\n\\\\c\\u0001\",\"count\":3,\"ok\":true}");
}

// systemd names the stream it gave the service; only that one is the
// journal (a service's stderr redirected elsewhere, or a program it
// started with other descriptors, must not get priority prefixes).
TEST(LogTest, TheJournalStreamIsTheOneSystemdNamed) {
  char path[] = "/tmp/xlog.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  const std::string named =
      std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  EXPECT_TRUE(IsJournalStream(named.c_str(), fd));
  const std::string other =
      std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_FALSE(IsJournalStream(other.c_str(), fd));
  EXPECT_FALSE(IsJournalStream(nullptr, fd));
  EXPECT_FALSE(IsJournalStream("", fd));
  EXPECT_FALSE(IsJournalStream((named + "x").c_str(), fd));
  EXPECT_FALSE(IsJournalStream(named.c_str(), -1));
  close(fd);
}

TEST(LogTest, SyslogPrefixesAreTheLevelsPriorities) {
  EXPECT_EQ(SyslogPrefix(LogLevel::kDebug), "<7>");
  EXPECT_EQ(SyslogPrefix(LogLevel::kInfo), "<6>");
  EXPECT_EQ(SyslogPrefix(LogLevel::kWarning), "<4>");
  EXPECT_EQ(SyslogPrefix(LogLevel::kError), "<3>");
}

TEST(LogTest, ParsesNames) {
  LogLevel level;
  EXPECT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("verbose", &level));
  LogFormat format;
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_FALSE(ParseLogFormat("yaml", &format));
}

}  // namespace
}  // namespace xenlet

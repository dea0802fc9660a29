#include "common/log.h"

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

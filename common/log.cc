#include "common/log.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "absl/synchronization/mutex.h"
#include "common/json_string.h"

namespace xenlet {
namespace {

std::atomic<LogLevel> min_level{LogLevel::kInfo};
std::atomic<LogFormat> log_format{LogFormat::kText};
std::atomic<bool> journal_prefix{false};
ABSL_CONST_INIT absl::Mutex write_mutex(absl::kConstInit);

const char* LevelName(LogLevel level, LogFormat format) {
  switch (level) {
    case LogLevel::kDebug:
      return format == LogFormat::kJson ? "debug" : "DEBUG";
    case LogLevel::kInfo:
      return format == LogFormat::kJson ? "info" : "INFO";
    case LogLevel::kWarning:
      return format == LogFormat::kJson ? "warning" : "WARN";
    case LogLevel::kError:
      return format == LogFormat::kJson ? "error" : "ERROR";
  }
  return "?";
}

// Text values are quoted only when they would otherwise be ambiguous.
void AppendTextValue(std::string* out, const LogValue& value) {
  const std::string& v = value.text();
  bool plain = !v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain || !value.quoted()) {
    *out += v;
  } else {
    AppendJsonString(out, v);
  }
}

std::string NowUtc() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                    now.time_since_epoch())
                    .count() %
                1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

}  // namespace

void ConfigureLogging(LogLevel level, LogFormat format) {
  min_level = level;
  log_format = format;
  journal_prefix = IsJournalStream(std::getenv("JOURNAL_STREAM"), 2);
}

bool IsJournalStream(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  unsigned long long device = 0, inode = 0;
  char tail = 0;
  if (std::sscanf(journal_stream, "%llu:%llu%c", &device, &inode, &tail) != 2) {
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  return st.st_dev == device && st.st_ino == inode;
}

std::string_view SyslogPrefix(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "<7>";
    case LogLevel::kInfo:
      return "<6>";
    case LogLevel::kWarning:
      return "<4>";
    case LogLevel::kError:
      return "<3>";
  }
  return "";
}

bool ParseLogLevel(std::string_view name, LogLevel* out) {
  if (name == "debug") {
    *out = LogLevel::kDebug;
  } else if (name == "info") {
    *out = LogLevel::kInfo;
  } else if (name == "warning" || name == "warn") {
    *out = LogLevel::kWarning;
  } else if (name == "error") {
    *out = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

bool ParseLogFormat(std::string_view name, LogFormat* out) {
  if (name == "text") {
    *out = LogFormat::kText;
  } else if (name == "json") {
    *out = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

std::string FormatLogLine(LogFormat format, LogLevel level,
                          std::string_view timestamp, std::string_view event,
                          std::initializer_list<LogField> fields) {
  std::string line;
  if (format == LogFormat::kJson) {
    line += "{\"ts\":";
    AppendJsonString(&line, timestamp);
    line += ",\"level\":";
    AppendJsonString(&line, LevelName(level, format));
    line += ",\"event\":";
    AppendJsonString(&line, event);
    for (const auto& [key, value] : fields) {
      line.push_back(',');
      AppendJsonString(&line, key);
      line.push_back(':');
      if (value.quoted()) {
        AppendJsonString(&line, value.text());
      } else {
        line += value.text();
      }
    }
    line.push_back('}');
  } else {
    line.append(timestamp);
    line.push_back(' ');
    line += LevelName(level, format);
    line.push_back(' ');
    line.append(event);
    for (const auto& [key, value] : fields) {
      line.push_back(' ');
      line.append(key);
      line.push_back('=');
      AppendTextValue(&line, value);
    }
  }
  return line;
}

void Log(LogLevel level, std::string_view event,
         std::initializer_list<LogField> fields) {
  if (level < min_level.load(std::memory_order_relaxed)) return;
  std::string line;
  if (journal_prefix.load(std::memory_order_relaxed)) {
    line = SyslogPrefix(level);
  }
  line += FormatLogLine(log_format.load(), level, NowUtc(), event, fields);
  line.push_back('\n');
  absl::MutexLock lock(&write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace xenlet

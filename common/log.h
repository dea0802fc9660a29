// Structured logging: every line is an event name plus key=value fields,
// rendered as text for people or as JSON lines for log shippers.
//
//   LogInfo("server_started", {{"socket", path}, {"tcp", address}});
//   -> 2026-11-25T17:00:00.123Z INFO server_started socket=/run/... tcp=...
//   ->
//   {"ts":"2026-11-25T17:00:00.123Z","level":"info","event":"server_started",...}
#ifndef XENLET_COMMON_LOG_H_
#define XENLET_COMMON_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace xenlet {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

// A field value: strings, numbers and booleans, kept as text.
class LogValue {
 public:
  LogValue(std::string_view v) : text_(v), quoted_(true) {}
  LogValue(const char* v) : text_(v), quoted_(true) {}
  LogValue(const std::string& v) : text_(v), quoted_(true) {}
  LogValue(bool v) : text_(v ? "true" : "false"), quoted_(false) {}
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T> &&
                                                    !std::is_same_v<T, bool>>>
  LogValue(T v) : text_(std::to_string(v)), quoted_(false) {}

  const std::string& text() const { return text_; }
  bool quoted() const { return quoted_; }

 private:
  std::string text_;
  bool quoted_;
};

using LogField = std::pair<std::string_view, LogValue>;

// Process-wide settings; call once at startup (defaults: info, text, stderr).
// When stderr is systemd's journal (the unit's StandardError=journal), each
// line starts with its syslog priority ("<4>" for a warning), which journald
// takes off and keeps as the entry's priority: `journalctl -p warning` works.
void ConfigureLogging(LogLevel min_level, LogFormat format);

// Whether fd is the journal stream systemd names in $JOURNAL_STREAM
// ("DEVICE:INODE" of the stream it connected to the service's stdout or
// stderr); journal_stream may be null (not run by systemd).
bool IsJournalStream(const char* journal_stream, int fd);

// The syslog priority prefix of a level: "<7>" debug ... "<3>" error.
std::string_view SyslogPrefix(LogLevel level);
bool ParseLogLevel(std::string_view name, LogLevel* out);
bool ParseLogFormat(std::string_view name, LogFormat* out);

void Log(LogLevel level, std::string_view event,
         std::initializer_list<LogField> fields = {});

inline void LogDebug(std::string_view event,
                     std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kDebug, event, fields);
}
inline void LogInfo(std::string_view event,
                    std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, event, fields);
}
inline void LogWarning(std::string_view event,
                       std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, event, fields);
}
inline void LogError(std::string_view event,
                     std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, event, fields);
}

// The line Log would write, without the timestamp (for tests).
std::string FormatLogLine(LogFormat format, LogLevel level,
                          std::string_view timestamp, std::string_view event,
                          std::initializer_list<LogField> fields);

}  // namespace xenlet

#endif  // XENLET_COMMON_LOG_H_

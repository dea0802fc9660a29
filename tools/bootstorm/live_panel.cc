#include "tools/bootstorm/live_panel.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace xenlet::bootstorm {
namespace {

constexpr int kBarWidth = 24;
constexpr int kLabelWidth = 10;

std::string Label(const char* label) {
  return absl::StrFormat(" %-*s ", kLabelWidth, label);
}

std::string Ms(std::optional<double> ms) {
  if (!ms) return "-";
  if (*ms < 10) return absl::StrFormat("%.1f ms", *ms);
  if (*ms < 10000) return absl::StrFormat("%.0f ms", *ms);
  return absl::StrCat(Compact(*ms / 1000), " s");
}

std::string Rate(std::optional<double> per_second) {
  return per_second ? Compact(*per_second) : "-";
}

std::string Percent(std::optional<double> percent) {
  return percent ? absl::StrFormat("%.0f%%", *percent) : "-";
}

// Cuts a line that unusual figures made too long: a panel that wraps
// would be redrawn over the wrong lines.
std::string Fit(std::string line) {
  if (line.size() > static_cast<size_t>(kPanelWidth)) line.resize(kPanelWidth);
  return line;
}

}  // namespace

std::string Compact(double value) {
  if (!std::isfinite(value) || value < 0) return "-";
  if (value < 10 && value != std::floor(value)) {
    return absl::StrFormat("%.1f", value);
  }
  // Each unit up to where its rounding would print the next one's 1000.
  if (value < 9999.5) return absl::StrFormat("%.0f", value);
  if (value < 999950) return absl::StrFormat("%.1fk", value / 1e3);
  if (value < 999950000) return absl::StrFormat("%.1fM", value / 1e6);
  return absl::StrFormat("%.1fG", value / 1e9);
}

std::vector<std::string> RenderPanel(const PanelFigures& f) {
  std::vector<std::string> lines;
  const double fraction =
      f.total == 0 ? 0 : std::min(1.0, static_cast<double>(f.done) / f.total);
  const int filled = static_cast<int>(fraction * kBarWidth + 0.5);
  const double rate = f.phase_seconds > 0 ? f.done / f.phase_seconds : 0;
  std::string phase = f.phase.empty() ? "starting" : f.phase;
  if (phase.size() > static_cast<size_t>(kLabelWidth)) {
    phase.resize(kLabelWidth);
  }
  lines.push_back(Fit(absl::StrFormat(
      " %-*s [%s%s] %s/%s %s/s %s", kLabelWidth, phase,
      std::string(filled, '#'), std::string(kBarWidth - filled, '.'),
      Compact(f.done), Compact(f.total), Compact(rate),
      f.converging ? "checking clients"
                   : absl::StrCat(Compact(f.phase_seconds), " s"))));
  lines.push_back(Fit(absl::StrCat(
      Label("domains"), Compact(f.running), " running, ", Compact(f.paused),
      " paused, ", Compact(f.shutdown), " shut down, ", Compact(f.dying),
      " dying, ", Compact(f.created), " created")));
  lines.push_back(
      Fit(absl::StrCat(Label("events"), Compact(f.events), " received, ",
                       Compact(f.events_per_second), "/s; latency p50 ",
                       Ms(f.latency_p50_ms), ", p99 ", Ms(f.latency_p99_ms))));
  lines.push_back(Fit(absl::StrCat(
      Label("agent I/O"), "xenstore ", Rate(f.xenstore_requests_per_second),
      " requests/s, ", Rate(f.hypercalls_per_second), " hypercalls/s")));
  lines.push_back(Fit(absl::StrCat(
      Label("cpu"), "xenlet ", Percent(f.agent_cpu_percent), ", xenstored ",
      Percent(f.xenstored_cpu_percent), " (of one core)")));
  return lines;
}

}  // namespace xenlet::bootstorm

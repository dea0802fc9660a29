// The live summary of a boot storm as a person reads it: a few lines that
// fit an 80-column terminal, whatever the figures (tests/bootstorm checks
// the widths with extreme values). Pure formatting: LiveDisplay gathers the
// figures and decides where the lines go.
#ifndef XENLET_TOOLS_BOOTSTORM_LIVE_PANEL_H_
#define XENLET_TOOLS_BOOTSTORM_LIVE_PANEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xenlet::bootstorm {

inline constexpr int kPanelWidth = 80;

struct PanelFigures {
  // The phase under way ("booting", "shutting down", ...) and its progress.
  std::string phase;
  uint64_t done = 0;
  uint64_t total = 0;
  double phase_seconds = 0;
  // True once the toolstack is done and the clients are being checked.
  bool converging = false;
  // The first watch client's model, by state.
  uint64_t created = 0, running = 0, paused = 0, shutdown = 0, dying = 0;
  // Events the first client received, in all and per second lately.
  uint64_t events = 0;
  double events_per_second = 0;
  // The toolstack's action to that client's receipt, over the run so far.
  std::optional<double> latency_p50_ms, latency_p99_ms;
  // The agent's own I/O per second (GetHost's counters), if known.
  std::optional<double> xenstore_requests_per_second, hypercalls_per_second;
  // Per cent of one core over the last interval, if known.
  std::optional<double> agent_cpu_percent, xenstored_cpu_percent;
};

// One line each: progress bar, domains, events and latency, the agent's
// I/O, CPU. No line is longer than kPanelWidth; none ends in a newline.
std::vector<std::string> RenderPanel(const PanelFigures& figures);

// A figure in at most 6 characters: 3, 2.5, 12, 1234, 12.3k, 1.2M.
std::string Compact(double value);

}  // namespace xenlet::bootstorm

#endif  // XENLET_TOOLS_BOOTSTORM_LIVE_PANEL_H_

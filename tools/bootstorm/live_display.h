// What a person watching a boot storm sees: the live panel (live_panel.h)
// redrawn in place on a terminal, or printed every few seconds into a log;
// a sample of the first client's events above it (at most N a second, not
// every event); and bootstorm's own messages, printed without tearing the
// panel. The figures come from the first watch client's model (what a
// client sees, end to end), the agent's GetHost counters and /proc.
#ifndef XENLET_TOOLS_BOOTSTORM_LIVE_DISPLAY_H_
#define XENLET_TOOLS_BOOTSTORM_LIVE_DISPLAY_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tools/bootstorm/latency_report.h"
#include "tools/bootstorm/live_panel.h"
#include "tools/bootstorm/watch_recorder.h"
#include "xenlet/v1/host_service.grpc.pb.h"

namespace xenlet::bootstorm {

struct LiveDisplayOptions {
  FILE* out = stdout;
  // Redraw in place (ANSI cursor movement) rather than print each panel.
  bool terminal = false;
  absl::Duration interval = absl::Seconds(10);
  double samples_per_second = 1;
  pid_t agent_pid = 0;
  pid_t xenstored_pid = 0;
};

// One sampled event as a line of at most kPanelWidth characters.
std::string FormatSampledEvent(const v1::WatchDomainsResponse& event,
                               absl::Time received);

class LiveDisplay {
 public:
  // `client` and `steps` must outlive the display; `channel` reaches the
  // agent for GetHost.
  LiveDisplay(LiveDisplayOptions options, const WatchRecorder* client,
              const StepLog* steps, std::shared_ptr<grpc::Channel> channel);
  ~LiveDisplay();

  void Start();
  // Draws the panel a last time (it stays on the screen) and stops.
  void Stop();

  // The phase under way, and its progress (any thread).
  void SetPhase(const std::string& phase, uint64_t total);
  void SetDone(uint64_t done);
  void SetConverging();

  // A line above the panel (any thread).
  void Print(const std::string& line);
  // An event of the first client: printed if it is a lifecycle transition
  // and the sample rate allows.
  void OfferEvent(const v1::WatchDomainsResponse& event);

 private:
  void Run();
  PanelFigures Gather(absl::Time now);
  void Draw(const std::vector<std::string>& panel)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mutex_);
  void Erase() ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mutex_);

  const LiveDisplayOptions options_;
  const WatchRecorder* const client_;
  const StepLog* const steps_;
  std::unique_ptr<v1::HostService::Stub> host_;
  std::thread thread_;

  absl::Mutex mutex_;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::string phase_ ABSL_GUARDED_BY(mutex_);
  uint64_t done_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t total_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Time phase_start_ ABSL_GUARDED_BY(mutex_);
  bool converging_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Time last_sample_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();

  // Output: the panel on the screen (terminal mode) and its line count.
  absl::Mutex out_mutex_;
  size_t drawn_lines_ ABSL_GUARDED_BY(out_mutex_) = 0;
  std::vector<std::string> panel_ ABSL_GUARDED_BY(out_mutex_);

  // Only the display's thread (or Stop, after it) touches these.
  size_t matched_ = 0;  // the client's events whose latency is counted
  std::vector<double> latencies_ms_;
  uint64_t last_events_ = 0;
  uint64_t last_requests_ = 0, last_hypercalls_ = 0;
  double last_agent_cpu_ = -1, last_xenstored_cpu_ = -1;
  bool have_host_ = false;
  absl::Time last_tick_;
};

}  // namespace xenlet::bootstorm

#endif  // XENLET_TOOLS_BOOTSTORM_LIVE_DISPLAY_H_

// End-to-end latency of a storm: each event a watcher received, matched
// with the toolstack step that caused it (sim::ToolstackStep), split into
// action -> detection (the agent noticing) and detection -> receipt (the
// stream delivering), with percentiles per transition.
#ifndef XENLET_TOOLS_BOOTSTORM_LATENCY_REPORT_H_
#define XENLET_TOOLS_BOOTSTORM_LATENCY_REPORT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sim/toolstack.h"
#include "tools/bootstorm/watch_recorder.h"

namespace xenlet::bootstorm {

// The toolstack's steps as they are stamped (any thread).
class StepLog {
 public:
  void Record(const sim::ToolstackStep& step);
  // The latest stamp of that step for that domain at or before `before`
  // (the event's receipt).
  std::optional<absl::Time> Find(uint32_t domid, sim::ToolstackStep::Kind kind,
                                 absl::Time before) const;

  // Every stamp as CSV, "domid,kind,unix_ns" per line after a header, so
  // that another process (tests/fleet/harness) can measure from them.
  std::string Csv() const;
  // Adds the stamps of such a CSV; false on a line that does not parse.
  bool AddCsv(absl::string_view csv);

 private:
  mutable absl::Mutex mutex_;
  std::map<std::pair<uint32_t, int>, std::vector<absl::Time>> stamps_
      ABSL_GUARDED_BY(mutex_);
};

// The step that causes an event with this transition, if any.
std::optional<sim::ToolstackStep::Kind> CauseOf(v1::Transition transition);

struct LatencySample {
  v1::Transition transition;
  double action_to_detection_ms;
  double detection_to_receipt_ms;
  double action_to_receipt_ms;
};

// Every received event of every watcher with a step to measure from.
// *unmatched counts those without (e.g. the pause a destroy begins with).
std::vector<LatencySample> MatchSamples(
    const StepLog& steps, const std::vector<WatchRecorder::Snapshot>& watchers,
    uint64_t* unmatched);

double Percentile(std::vector<double> values, double p);

// One line per transition, fit for 80 columns.
std::string FormatLatencyTable(const std::vector<LatencySample>& samples);

// CSV: transition,action_to_detection_ms,detection_to_receipt_ms,
// action_to_receipt_ms (for plots).
std::string LatencyCsv(const std::vector<LatencySample>& samples);

}  // namespace xenlet::bootstorm

#endif  // XENLET_TOOLS_BOOTSTORM_LATENCY_REPORT_H_

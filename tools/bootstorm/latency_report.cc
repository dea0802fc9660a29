#include "tools/bootstorm/latency_report.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace xenlet::bootstorm {

void StepLog::Record(const sim::ToolstackStep& step) {
  absl::MutexLock lock(&mutex_);
  stamps_[{step.domid, step.kind}].push_back(step.at);
}

std::optional<absl::Time> StepLog::Find(uint32_t domid,
                                        sim::ToolstackStep::Kind kind,
                                        absl::Time before) const {
  absl::MutexLock lock(&mutex_);
  auto it = stamps_.find({domid, kind});
  if (it == stamps_.end()) return std::nullopt;
  std::optional<absl::Time> best;
  for (absl::Time t : it->second) {
    if (t <= before && (!best || t > *best)) best = t;
  }
  return best;
}

std::string StepLog::Csv() const {
  absl::MutexLock lock(&mutex_);
  std::string out = "domid,kind,unix_ns\n";
  for (const auto& [key, stamps] : stamps_) {
    for (absl::Time t : stamps) {
      absl::StrAppend(&out, key.first, ",", key.second, ",",
                      absl::ToUnixNanos(t), "\n");
    }
  }
  return out;
}

bool StepLog::AddCsv(absl::string_view csv) {
  absl::MutexLock lock(&mutex_);
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    if (line == "domid,kind,unix_ns") continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    uint32_t domid = 0;
    int kind = 0;
    int64_t ns = 0;
    if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &domid) ||
        !absl::SimpleAtoi(fields[1], &kind) ||
        !absl::SimpleAtoi(fields[2], &ns) ||
        kind < sim::ToolstackStep::kCreated ||
        kind > sim::ToolstackStep::kDestroyed) {
      return false;
    }
    stamps_[{domid, kind}].push_back(absl::FromUnixNanos(ns));
  }
  return true;
}

std::optional<sim::ToolstackStep::Kind> CauseOf(v1::Transition transition) {
  switch (transition) {
    case v1::TRANSITION_CREATED:
      return sim::ToolstackStep::kCreated;
    case v1::TRANSITION_STARTED:
    case v1::TRANSITION_UNPAUSED:
      return sim::ToolstackStep::kUnpaused;
    case v1::TRANSITION_PAUSED:
      return sim::ToolstackStep::kPaused;
    case v1::TRANSITION_SHUTDOWN:
      return sim::ToolstackStep::kShutdownRequested;
    case v1::TRANSITION_DYING:
    case v1::TRANSITION_DESTROYED:
      return sim::ToolstackStep::kDestroyed;
    default:
      return std::nullopt;  // key updates: no single step to measure from
  }
}

std::vector<LatencySample> MatchSamples(
    const StepLog& steps, const std::vector<WatchRecorder::Snapshot>& watchers,
    uint64_t* unmatched) {
  std::vector<LatencySample> out;
  *unmatched = 0;
  for (const WatchRecorder::Snapshot& watcher : watchers) {
    for (const WatchRecorder::Received& r : watcher.received) {
      auto kind = CauseOf(r.transition);
      std::optional<absl::Time> action;
      // Before the receipt, not the detection: an event's detection time
      // is when its sweep started, which can be a moment before the step
      // that sweep's hypercall then saw (that part is counted as 0).
      if (kind) action = steps.Find(r.domid, *kind, r.received);
      if (!action) {
        ++*unmatched;
        continue;
      }
      out.push_back(
          {r.transition,
           std::max(0.0, absl::ToDoubleMilliseconds(r.detected - *action)),
           absl::ToDoubleMilliseconds(r.received - r.detected),
           absl::ToDoubleMilliseconds(r.received - *action)});
    }
  }
  return out;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t i =
      std::min(values.size() - 1,
               static_cast<size_t>(p * static_cast<double>(values.size())));
  return values[i];
}

std::string FormatLatencyTable(const std::vector<LatencySample>& samples) {
  std::map<v1::Transition, std::vector<const LatencySample*>> by;
  for (const LatencySample& s : samples) by[s.transition].push_back(&s);
  std::string out = absl::StrFormat("  %-10s %6s | %-13s | %-13s | %-20s\n",
                                    "transition", "events", "action->detect",
                                    "detect->recv", "action->receipt (ms)");
  out += absl::StrFormat("  %-10s %6s | %6s %6s | %6s %6s | %6s %6s %6s\n", "",
                         "", "p50", "p99", "p50", "p99", "p50", "p99", "max");
  for (const auto& [transition, list] : by) {
    std::vector<double> detect, deliver, total;
    for (const LatencySample* s : list) {
      detect.push_back(s->action_to_detection_ms);
      deliver.push_back(s->detection_to_receipt_ms);
      total.push_back(s->action_to_receipt_ms);
    }
    std::string name = v1::Transition_Name(transition);
    name = name.substr(std::string("TRANSITION_").size());
    out += absl::StrFormat(
        "  %-10s %6zu | %6.1f %6.1f | %6.1f %6.1f | %6.1f %6.1f %6.1f\n", name,
        list.size(), Percentile(detect, 0.5), Percentile(detect, 0.99),
        Percentile(deliver, 0.5), Percentile(deliver, 0.99),
        Percentile(total, 0.5), Percentile(total, 0.99),
        Percentile(total, 1.0));
  }
  return out;
}

std::string LatencyCsv(const std::vector<LatencySample>& samples) {
  std::string out =
      "transition,action_to_detection_ms,detection_to_receipt_ms,"
      "action_to_receipt_ms\n";
  for (const LatencySample& s : samples) {
    std::string name = v1::Transition_Name(s.transition);
    absl::StrAppendFormat(&out, "%s,%.3f,%.3f,%.3f\n",
                          name.substr(std::string("TRANSITION_").size()),
                          s.action_to_detection_ms, s.detection_to_receipt_ms,
                          s.action_to_receipt_ms);
  }
  return out;
}

}  // namespace xenlet::bootstorm

// bootstorm's latency report: each received event is measured from the
// toolstack step that caused it (the latest one before the agent detected
// it), split at the detection; events no step causes are counted apart.
#include "tools/bootstorm/latency_report.h"

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace xenlet::bootstorm {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'000'000);

absl::Time Ms(double ms) { return kT0 + absl::Milliseconds(ms); }

TEST(LatencyReportTest, EventsAreMeasuredFromTheirStep) {
  StepLog steps;
  steps.Record({5, sim::ToolstackStep::kCreated, Ms(0)});
  steps.Record({5, sim::ToolstackStep::kUnpaused, Ms(10)});
  // Unpaused again later (after a pause): the second unpause is measured
  // from its own stamp, not the first.
  steps.Record({5, sim::ToolstackStep::kPaused, Ms(100)});
  steps.Record({5, sim::ToolstackStep::kUnpaused, Ms(200)});
  WatchRecorder::Snapshot watcher;
  watcher.received = {
      {5, v1::TRANSITION_CREATED, Ms(2), Ms(3)},
      {5, v1::TRANSITION_STARTED, Ms(11), Ms(11.5)},
      {5, v1::TRANSITION_UPDATED, Ms(12), Ms(13)},  // keys: no step
      {5, v1::TRANSITION_PAUSED, Ms(1100), Ms(1104)},
      {5, v1::TRANSITION_UNPAUSED, Ms(1200), Ms(1203)},
      {6, v1::TRANSITION_CREATED, Ms(5), Ms(6)},  // made by someone else
  };
  uint64_t unmatched = 0;
  auto samples = MatchSamples(steps, {watcher, watcher}, &unmatched);
  ASSERT_EQ(samples.size(), 8u) << "4 events per watcher";
  EXPECT_EQ(unmatched, 4u);
  EXPECT_EQ(samples[0].transition, v1::TRANSITION_CREATED);
  EXPECT_DOUBLE_EQ(samples[0].action_to_detection_ms, 2);
  EXPECT_DOUBLE_EQ(samples[0].detection_to_receipt_ms, 1);
  EXPECT_DOUBLE_EQ(samples[0].action_to_receipt_ms, 3);
  EXPECT_DOUBLE_EQ(samples[1].action_to_receipt_ms, 1.5);
  EXPECT_DOUBLE_EQ(samples[2].action_to_detection_ms, 1000);
  EXPECT_DOUBLE_EQ(samples[3].action_to_detection_ms, 1000)
      << "measured from the second unpause, not the first";

  const std::string table = FormatLatencyTable(samples);
  for (const auto line : absl::StrSplit(table, '\n')) {
    EXPECT_LE(line.size(), 80u) << line;
  }
  EXPECT_NE(table.find("PAUSED"), std::string::npos) << table;
  const std::string csv = LatencyCsv(samples);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 9) << csv;
  EXPECT_NE(csv.find("STARTED,1.000,0.500,1.500"), std::string::npos) << csv;
}

TEST(LatencyReportTest, PercentilesAndCauses) {
  EXPECT_EQ(Percentile({}, 0.5), 0);
  EXPECT_EQ(Percentile({3, 1, 2, 4}, 0.5), 3);
  EXPECT_EQ(Percentile({3, 1, 2, 4}, 1.0), 4);
  EXPECT_EQ(Percentile({3, 1, 2, 4}, 0.0), 1);
  EXPECT_EQ(CauseOf(v1::TRANSITION_DYING), sim::ToolstackStep::kDestroyed);
  EXPECT_EQ(CauseOf(v1::TRANSITION_SHUTDOWN),
            sim::ToolstackStep::kShutdownRequested);
  EXPECT_FALSE(CauseOf(v1::TRANSITION_UPDATED).has_value());
}

}  // namespace
}  // namespace xenlet::bootstorm

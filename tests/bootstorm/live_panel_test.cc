// The live panel of a boot storm fits an 80-column terminal whatever the
// figures, and says what they are.
#include "tools/bootstorm/live_panel.h"

#include <limits>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tools/bootstorm/live_display.h"

namespace xenlet::bootstorm {
namespace {

void ExpectFits(const std::vector<std::string>& lines) {
  ASSERT_EQ(lines.size(), 5u);
  for (const std::string& line : lines) {
    EXPECT_LE(line.size(), static_cast<size_t>(kPanelWidth)) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  }
}

TEST(LivePanelTest, TypicalFiguresAreShownInFull) {
  PanelFigures f;
  f.phase = "booting";
  f.done = 612;
  f.total = 1000;
  f.phase_seconds = 12.5;
  f.running = 598;
  f.created = 14;
  f.events = 3671;
  f.events_per_second = 289;
  f.latency_p50_ms = 4.1;
  f.latency_p99_ms = 38;
  f.xenstore_requests_per_second = 2100;
  f.hypercalls_per_second = 4.5;
  f.agent_cpu_percent = 14;
  f.xenstored_cpu_percent = 97;
  const std::vector<std::string> lines = RenderPanel(f);
  ExpectFits(lines);
  EXPECT_EQ(lines[0],
            " booting    [###############.........] 612/1000 49/s 12 s");
  EXPECT_EQ(lines[1],
            " domains    598 running, 0 paused, 0 shut down, 0 dying, 14 "
            "created");
  EXPECT_EQ(lines[2],
            " events     3671 received, 289/s; latency p50 4.1 ms, p99 38 ms");
  EXPECT_EQ(lines[3], " agent I/O  xenstore 2100 requests/s, 4.5 hypercalls/s");
  EXPECT_EQ(lines[4], " cpu        xenlet 14%, xenstored 97% (of one core)");
}

TEST(LivePanelTest, UnknownFiguresAreDashes) {
  PanelFigures f;  // before the first sample: nothing known yet
  const std::vector<std::string> lines = RenderPanel(f);
  ExpectFits(lines);
  EXPECT_TRUE(absl::StartsWith(lines[0], " starting   [....")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[2], "p50 -, p99 -")) << lines[2];
  EXPECT_TRUE(absl::StrContains(lines[3], "xenstore - requests/s")) << lines[3];
  EXPECT_TRUE(absl::StrContains(lines[4], "xenlet -, xenstored -")) << lines[4];
}

TEST(LivePanelTest, ExtremeFiguresStillFit) {
  PanelFigures f;
  f.phase = "a phase name far longer than the label column";
  f.done = 32000;
  f.total = 32000;
  f.phase_seconds = 1e-9;
  f.converging = true;
  f.created = f.running = f.paused = f.shutdown = f.dying =
      std::numeric_limits<uint64_t>::max();
  f.events = std::numeric_limits<uint64_t>::max();
  f.events_per_second = 1e12;
  f.latency_p50_ms = 1e9;
  f.latency_p99_ms = std::numeric_limits<double>::infinity();
  f.xenstore_requests_per_second = 1e15;
  f.hypercalls_per_second = -1;
  f.agent_cpu_percent = 1e6;
  f.xenstored_cpu_percent = 199.5;
  const std::vector<std::string> lines = RenderPanel(f);
  ExpectFits(lines);
  EXPECT_TRUE(absl::StrContains(lines[0], "[########################]"))
      << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "checking clients")) << lines[0];
}

TEST(LivePanelTest, CompactKeepsFiguresShort) {
  EXPECT_EQ(Compact(0), "0");
  EXPECT_EQ(Compact(7), "7");
  EXPECT_EQ(Compact(2.5), "2.5");
  EXPECT_EQ(Compact(12.4), "12");
  EXPECT_EQ(Compact(9999), "9999");
  EXPECT_EQ(Compact(12345), "12.3k");
  EXPECT_EQ(Compact(32000), "32.0k");
  EXPECT_EQ(Compact(1.5e6), "1.5M");
  EXPECT_EQ(Compact(9999.7), "10.0k");
  EXPECT_EQ(Compact(999950), "1.0M");
  EXPECT_EQ(Compact(999949), "999.9k");
  EXPECT_EQ(Compact(-3), "-");
  EXPECT_EQ(Compact(std::numeric_limits<double>::quiet_NaN()), "-");
}

TEST(LivePanelTest, SampledEventLineSaysWhatHappened) {
  v1::WatchDomainsResponse event;
  event.set_type(v1::EVENT_TYPE_MODIFIED);
  event.set_transition(v1::TRANSITION_SHUTDOWN);
  event.mutable_domain()->set_domid(32751);
  event.mutable_domain()->set_name("a-very-long-unikernel-name-indeed");
  event.mutable_domain()->set_state(v1::DOMAIN_STATE_SHUTDOWN);
  event.mutable_domain()->set_shutdown_reason(v1::SHUTDOWN_REASON_SOFT_RESET);
  const std::string line = FormatSampledEvent(event, absl::Now());
  EXPECT_LE(line.size(), static_cast<size_t>(kPanelWidth)) << line;
  EXPECT_TRUE(absl::StrContains(line,
                                "SHUTDOWN   domid 32751 a-very-long-unik "
                                "shutdown (soft_reset)"))
      << line;

  event.mutable_domain()->clear_name();  // not yet named by the toolstack
  event.mutable_domain()->clear_shutdown_reason();
  event.mutable_domain()->set_state(v1::DOMAIN_STATE_CREATED);
  event.set_transition(v1::TRANSITION_CREATED);
  EXPECT_TRUE(absl::StrContains(FormatSampledEvent(event, absl::Now()),
                                "CREATED    domid 32751 -                "
                                "created"));
}

}  // namespace
}  // namespace xenlet::bootstorm

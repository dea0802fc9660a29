// xenlet-publish's metrics say what its stats say, under the names
// docs/fleet.md lists.
#include "fleet/publisher/publish_metrics.h"

#include <map>

#include "gtest/gtest.h"

namespace xenlet::fleet {
namespace {

std::map<std::string, double> Values(
    const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, double> out;
  for (const auto& family : families) {
    EXPECT_EQ(family.metric.size(), 1u) << family.name;
    const auto& m = family.metric.front();
    out[family.name] = family.type == prometheus::MetricType::Counter
                           ? m.counter.value
                           : m.gauge.value;
  }
  return out;
}

TEST(PublishMetricsTest, StatsBecomeMetrics) {
  PublisherStats s;
  s.state = fleet::v1::HostHealth::STATE_LIVE;
  s.events_published = 40;
  s.events_duplicate = 2;
  s.events_skipped = 3;
  s.sink_failures = 4;
  s.agent_failures = 1;
  s.resyncs = 1;
  s.domains_put = 30;
  s.domains_deleted = 5;
  s.revision = 77;
  s.last_lag = absl::Milliseconds(250);
  s.last_heard = absl::FromUnixSeconds(1764063000);
  const auto v = Values(PublishFamilies(s, /*nats_connected=*/true));
  EXPECT_EQ(v.at("xenlet_publish_events_total"), 40);
  EXPECT_EQ(v.at("xenlet_publish_duplicates_total"), 2);
  EXPECT_EQ(v.at("xenlet_publish_skipped_total"), 3);
  EXPECT_EQ(v.at("xenlet_publish_retries_total"), 5);
  EXPECT_EQ(v.at("xenlet_publish_nats_failures_total"), 4);
  EXPECT_EQ(v.at("xenlet_publish_agent_failures_total"), 1);
  EXPECT_EQ(v.at("xenlet_publish_resyncs_total"), 1);
  EXPECT_EQ(v.at("xenlet_publish_kv_puts_total"), 30);
  EXPECT_EQ(v.at("xenlet_publish_kv_deletes_total"), 5);
  EXPECT_DOUBLE_EQ(v.at("xenlet_publish_lag_seconds"), 0.25);
  EXPECT_EQ(v.at("xenlet_publish_last_heard_timestamp_seconds"), 1764063000);
  EXPECT_EQ(v.at("xenlet_publish_revision"), 77);
  EXPECT_EQ(v.at("xenlet_publish_live"), 1);
  EXPECT_EQ(v.at("xenlet_publish_nats_connected"), 1);
}

TEST(PublishMetricsTest, NeverHeardIsZero) {
  const auto v = Values(PublishFamilies(PublisherStats{}, false));
  EXPECT_EQ(v.at("xenlet_publish_last_heard_timestamp_seconds"), 0);
  EXPECT_EQ(v.at("xenlet_publish_live"), 0);
  EXPECT_EQ(v.at("xenlet_publish_nats_connected"), 0);
}

}  // namespace
}  // namespace xenlet::fleet

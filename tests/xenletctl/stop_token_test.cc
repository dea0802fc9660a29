// SIGTERM stops a watch through SignalStopper. Its own binary: a process
// with gRPC threads started before the stopper would die of the signal.
#include "tools/xenletctl/stop_token.h"

#include <signal.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace xenlet::ctl {
namespace {

TEST(StopToken, StopWakesWaiters) {
  StopToken token;
  EXPECT_FALSE(token.stopped());
  EXPECT_FALSE(token.WaitFor(absl::ZeroDuration()));
  token.Stop();
  EXPECT_TRUE(token.stopped());
  EXPECT_TRUE(token.WaitFor(absl::Hours(1)));  // returns at once
  EXPECT_FALSE(token.Attach(nullptr));
}

TEST(SignalStopper, SigtermStopsTheToken) {
  StopToken token;
  {
    SignalStopper stopper(token);
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);
    // Returns as soon as the signal thread has stopped the token.
    EXPECT_TRUE(token.WaitFor(absl::Seconds(30)));
  }
  EXPECT_TRUE(token.stopped());
}

}  // namespace
}  // namespace xenlet::ctl

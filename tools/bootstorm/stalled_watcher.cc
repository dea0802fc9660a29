#include "tools/bootstorm/stalled_watcher.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace xenlet::bootstorm {

absl::StatusOr<std::unique_ptr<StalledWatcher>> StalledWatcher::Open(
    const std::string& target, int id, absl::Duration timeout) {
  std::unique_ptr<StalledWatcher> w(new StalledWatcher);
  grpc::ChannelArguments args;
  // Channels with different arguments get different connections.
  args.SetInt("xenlet.bootstorm.stalled_watcher", id);
  w->channel_ = grpc::CreateCustomChannel(
      target, grpc::InsecureChannelCredentials(), args);
  w->stub_ = xenlet::v1::DomainService::NewStub(w->channel_);
  xenlet::v1::WatchDomainsRequest request;
  request.set_initial_state(true);
  if (!w->channel_->WaitForConnected(
          absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::DeadlineExceededError(
        absl::StrCat("stalled watcher ", id, ": no connection to ", target));
  }
  w->reader_ = w->stub_->WatchDomains(&w->context_, request);
  // The agent sends its initial metadata with the stream's first message;
  // no message is read, now or later.
  w->reader_->WaitForInitialMetadata();
  return w;
}

StalledWatcher::~StalledWatcher() {
  context_.TryCancel();
  if (reader_) reader_->Finish().ok();  // CANCELLED, as asked
}

}  // namespace xenlet::bootstorm

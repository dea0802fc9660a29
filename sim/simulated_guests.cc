#include "sim/simulated_guests.h"

#include <cstring>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "xen/types.h"

namespace xenlet::sim {
namespace {

constexpr char kToken[] = "xlsim-guests";
constexpr char kBackends[] = "/local/domain/0/backend/";

// The reason a guest shuts down with for a request word (the words libxl
// writes), if any.
std::optional<xen::ShutdownReason> ReasonOf(const std::string& word) {
  for (xen::ShutdownReason r :
       {xen::ShutdownReason::kPoweroff, xen::ShutdownReason::kReboot,
        xen::ShutdownReason::kSuspend}) {
    if (word == xen::ShutdownRequestWord(r)) return r;
  }
  return std::nullopt;
}

}  // namespace

SimulatedGuests::SimulatedGuests(Connect connect, HypervisorState* state)
    : connect_(std::move(connect)), state_(state) {
  thread_ = std::thread([this] { Run(); });
}

bool SimulatedGuests::WaitReady(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  return mutex_.AwaitWithTimeout(absl::Condition(&ready_), timeout);
}

void SimulatedGuests::AnswerWaiting(xen::XenstoreClient& xs) {
  // Requests written while no watch was registered (before the first one,
  // or while xenstored restarted) have no event: look for them.
  auto domains = xs.Directory("/local/domain");
  if (!domains.ok()) return;
  for (const std::string& d : *domains) {
    Handle(xs, absl::StrCat("/local/domain/", d, "/control/shutdown"));
  }
  // Backends told to close meanwhile: backend/<type>/<domid>/<devid>/state.
  const std::string root(kBackends, std::strlen(kBackends) - 1);
  auto types = xs.Directory(root);
  if (!types.ok()) return;
  for (const std::string& type : *types) {
    const std::string by_type = absl::StrCat(root, "/", type);
    auto frontends = xs.Directory(by_type);
    if (!frontends.ok()) continue;
    for (const std::string& domid : *frontends) {
      const std::string by_domid = absl::StrCat(by_type, "/", domid);
      auto devices = xs.Directory(by_domid);
      if (!devices.ok()) continue;
      for (const std::string& devid : *devices) {
        CloseBackend(xs, absl::StrCat(by_domid, "/", devid, "/state"));
      }
    }
  }
}

SimulatedGuests::~SimulatedGuests() {
  stop_ = true;
  thread_.join();
}

void SimulatedGuests::Handle(xen::XenstoreClient& xs, const std::string& path) {
  // /local/domain/N/control/shutdown
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  uint32_t domid;
  if (parts.size() != 6 || parts[1] != "local" || parts[2] != "domain" ||
      parts[4] != "control" || parts[5] != "shutdown" ||
      !absl::SimpleAtoi(parts[3], &domid) || domid == 0) {
    return;
  }
  pending_.erase(path);
  auto word = xs.Read(path);
  if (!word.ok() || word->empty()) return;  // gone, or already answered
  const std::optional<xen::ShutdownReason> reason = ReasonOf(*word);
  if (!reason) return;  // a word no driver knows: ignored, as Linux does
  // A paused guest does not run: it answers once unpaused. One shut down
  // or dying never answers.
  auto info = state_->Info(domid);
  if (!info.ok() || (info->flags & (XEN_DOMINF_shutdown | XEN_DOMINF_dying))) {
    return;
  }
  if (info->flags & XEN_DOMINF_paused) {
    pending_.insert(path);
    return;
  }
  if (!xs.Write(path, "").ok()) return;
  if (state_->GuestShutdown(domid, static_cast<uint8_t>(*reason)).ok()) {
    ++answered_;
  }
}

void SimulatedGuests::CloseBackend(xen::XenstoreClient& xs,
                                   const std::string& path) {
  // A backend driver told to close (XenbusStateClosing, 5) once its
  // frontend has gone answers XenbusStateClosed (6).
  auto state = xs.Read(path);
  if (!state.ok() || *state != "5") return;
  if (xs.Write(path, "6").ok()) ++backends_closed_;
}

void SimulatedGuests::Run() {
  std::unique_ptr<xen::XenstoreClient> xs;
  while (!stop_) {
    if (!xs) {
      auto client = connect_();
      if (!client.ok() || !(*client)->Watch("/local/domain", kToken).ok()) {
        // xenstored is restarting: try again shortly.
        absl::SleepFor(absl::Milliseconds(50));
        continue;
      }
      xs = std::move(*client);
      AnswerWaiting(*xs);
      absl::MutexLock lock(&mutex_);
      ready_ = true;
    }
    // Requests to paused guests: answered once they run (seen within the
    // wait below, which is bounded so that the destructor is seen too).
    for (const std::string& path : std::set<std::string>(pending_)) {
      Handle(*xs, path);
    }
    auto event = xs->NextWatchEvent(absl::Milliseconds(100));
    if (!event.ok()) {
      xs.reset();  // reconnect
      continue;
    }
    if (*event && absl::EndsWith((*event)->path, "/control/shutdown")) {
      Handle(*xs, (*event)->path);
    } else if (*event && absl::StartsWith((*event)->path, kBackends) &&
               absl::EndsWith((*event)->path, "/state")) {
      CloseBackend(*xs, (*event)->path);
    }
  }
}

}  // namespace xenlet::sim

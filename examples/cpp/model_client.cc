// model_client: keeps a live model of one Xen host's domains from its xenlet
// agent. The pattern every orchestrator needs, in one file:
//
//   1. ListDomains, every page, from one snapshot; keep the snapshot's
//      ResumePoint (instance_id, revision).
//   2. WatchDomains resuming from that point (resume, resync_inline): the
//      agent replays what changed since, sends SYNCED, then live events.
//   3. Apply ADDED / MODIFIED / DELETED to the model; move the resume point
//      only where the API says it may (SYNCED, BOOKMARK, or a live event not
//      marked coalesced).
//   4. When the stream breaks, reconnect with exponential backoff and
//      resume. If the agent cannot honour the point (it restarted, or the
//      revision left its event log) it says RESYNC_REQUIRED and sends the
//      current state inline (ADDED ... SYNCED): that state replaces the
//      model.
//
// Output (stdout): one summary line per catch-up (SYNCED or BOOKMARK):
//
//   SYNCED instance=I revision=R domains=N RUNNING=3 PAUSED=1
//
// and with --dump the whole model after it, sorted by domid:
//
//   # model instance=I revision=R domains=N
//   <domid> <uuid> <name or -> <STATE>
//   # end
//
// Diagnostics (reconnects, resyncs) go to stderr. SIGINT/SIGTERM end it with
// exit status 0; a call the agent refuses for good (bad argument,
// permission) ends it with 1. examples/python/xenlet_model.py is the same
// client in Python, with the same flags and output.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace {

using xenlet::v1::Domain;
using xenlet::v1::DomainService;
using xenlet::v1::ResumePoint;
using xenlet::v1::WatchDomainsRequest;
using xenlet::v1::WatchDomainsResponse;

constexpr char kProg[] = "model_client";
constexpr int kPageSize = 1000;  // domains per ListDomains page
// Per ListDomains call; a watch has no deadline.
constexpr absl::Duration kListTimeout = absl::Seconds(10);
// Before the first reconnect, doubling up to the maximum.
constexpr absl::Duration kBackoffInitial = absl::Milliseconds(500);
constexpr absl::Duration kBackoffMax = absl::Seconds(30);

// Failures after which the same call may work later: the agent is
// restarting, the connection broke, the agent shed load, or (ListDomains)
// the listing's snapshot is gone. Anything else (INVALID_ARGUMENT,
// PERMISSION_DENIED, UNIMPLEMENTED, ...) would fail again.
bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:  // the agent ended the stream
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return true;
    default:
      return false;
  }
}

// "UNAVAILABLE": gRPC's codes are Abseil's, number for number.
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

void Log(const std::string& message) {
  std::cerr << kProg << ": " << message << std::endl;  // endl: flushed
}

// DOMAIN_STATE_RUNNING -> RUNNING; a value newer than this build: its number.
std::string ShortName(const std::string& name, absl::string_view prefix,
                      int value) {
  if (name.empty()) return absl::StrCat(value);
  return std::string(absl::StripPrefix(name, prefix));
}

std::string StateName(int state) {
  return ShortName(xenlet::v1::DomainState_Name(state), "DOMAIN_STATE_", state);
}

// The client's copy of the host: domains by domid, and how far it goes.
class HostModel {
 public:
  // The last point fully applied: where the next watch resumes. Empty
  // until the first listing, and after a resync that did not finish.
  const std::optional<ResumePoint>& resume() const { return resume_; }

  // Takes a complete listing and the snapshot it comes from.
  void Replace(std::map<uint32_t, Domain> domains,
               const ResumePoint& snapshot) {
    domains_ = std::move(domains);
    pending_.reset();
    resume_ = snapshot;
  }

  // Applies one stream message; true if it is a catch-up (SYNCED/BOOKMARK).
  bool Apply(const WatchDomainsResponse& event) {
    switch (event.type()) {
      case xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED:
        // Our resume point cannot be honoured; since we asked for
        // resync_inline the current state follows: ADDED ... SYNCED.
        pending_.emplace();
        return false;
      case xenlet::v1::EVENT_TYPE_ADDED:
      case xenlet::v1::EVENT_TYPE_MODIFIED:
      case xenlet::v1::EVENT_TYPE_DELETED: {
        std::map<uint32_t, Domain>& target =
            pending_.has_value() ? *pending_ : domains_;
        const uint32_t domid = event.domain().domid();
        if (event.type() == xenlet::v1::EVENT_TYPE_DELETED) {
          target.erase(domid);
        } else {
          // ADDED inserts or replaces; MODIFIED carries the whole new
          // Domain. Either way the domid now holds event.domain().
          target[domid] = event.domain();
        }
        // The ADDED events of an inline resync all carry the snapshot's
        // revision (only its SYNCED is a resume point); a coalesced event
        // may have overtaken an older change of another domain (the
        // BOOKMARK ending the catch-up is the point).
        if (!pending_.has_value() && !event.coalesced()) ResumeAt(event);
        return false;
      }
      case xenlet::v1::EVENT_TYPE_SYNCED:
        if (pending_.has_value()) {
          // The resync is complete: its state replaces the model.
          domains_ = std::move(*pending_);
          pending_.reset();
        }
        ResumeAt(event);
        return true;
      case xenlet::v1::EVENT_TYPE_BOOKMARK:
        // Everything up to this revision has been sent.
        ResumeAt(event);
        return true;
      default:
        return false;  // STATS (not asked for), kinds newer than this client
    }
  }

  // A stream broke. If it was in the middle of an inline resync, the old
  // point would only be refused again and the new state is partial: list
  // afresh on the next connection.
  void StreamEnded() {
    if (!pending_.has_value()) return;
    pending_.reset();
    resume_.reset();
  }

  size_t size() const { return domains_.size(); }

  std::string Summary(xenlet::v1::EventType kind) const {
    std::map<int, int> by_state;
    for (const auto& [domid, domain] : domains_) ++by_state[domain.state()];
    std::string out = absl::StrCat(
        ShortName(xenlet::v1::EventType_Name(kind), "EVENT_TYPE_", kind),
        " instance=", resume_->instance_id(), " revision=", resume_->revision(),
        " domains=", domains_.size());
    for (const auto& [state, count] : by_state) {
      absl::StrAppend(&out, " ", StateName(state), "=", count);
    }
    return out;
  }

  std::string Dump() const {
    std::string out = absl::StrCat("# model instance=", resume_->instance_id(),
                                   " revision=", resume_->revision(),
                                   " domains=", domains_.size(), "\n");
    for (const auto& [domid, d] : domains_) {  // a std::map: domid order
      absl::StrAppend(&out, d.domid(), " ", d.uuid(), " ",
                      d.name().empty() ? "-" : d.name(), " ",
                      StateName(d.state()), "\n");
    }
    absl::StrAppend(&out, "# end");
    return out;
  }

 private:
  void ResumeAt(const WatchDomainsResponse& event) {
    ResumePoint point;
    point.set_instance_id(event.instance_id());
    point.set_revision(event.revision());
    resume_ = point;
  }

  std::map<uint32_t, Domain> domains_;
  std::optional<ResumePoint> resume_;
  // During an inline resync (RESYNC_REQUIRED ... SYNCED): the new state
  // being received. The old model stays as it is until SYNCED.
  std::optional<std::map<uint32_t, Domain>> pending_;
};

// Set on SIGINT/SIGTERM: cancels the call in progress and wakes the backoff
// wait.
class Stopper {
 public:
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    if (call_ != nullptr) call_->TryCancel();
  }

  bool stopped() const {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }

  // The call Stop() cancels; false if stopped already (then make no call).
  bool Attach(grpc::ClientContext* call) {
    absl::MutexLock lock(&mu_);
    if (stopped_) return false;
    call_ = call;
    return true;
  }

  void Detach() {
    absl::MutexLock lock(&mu_);
    call_ = nullptr;
  }

  // Waits up to timeout; true if stopped.
  bool WaitFor(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopped_), timeout);
    return stopped_;
  }

 private:
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// Turns SIGINT/SIGTERM into Stopper::Stop() on a thread of its own. Made
// before any other thread (gRPC's): they inherit the blocked signals, so
// only this thread takes them, with sigwait.
class SignalThread {
 public:
  explicit SignalThread(Stopper& stopper) : stopper_(stopper) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] {
      int signal = 0;
      sigwait(&signals_, &signal);
      stopper_.Stop();
    });
  }

  ~SignalThread() {
    // Unless a signal ended it already, wake it with one of its own.
    if (!stopper_.stopped()) pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

 private:
  Stopper& stopper_;
  sigset_t signals_;
  std::thread thread_;
};

std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

// Every domain, all pages of one snapshot, into the model.
grpc::Status ListAll(DomainService::Stub& stub, Stopper& stopper,
                     HostModel& model) {
  std::map<uint32_t, Domain> domains;
  xenlet::v1::ListDomainsResponse page;
  std::string token;
  do {
    xenlet::v1::ListDomainsRequest request;
    request.set_page_size(kPageSize);
    request.set_page_token(token);
    grpc::ClientContext context;
    context.set_deadline(Deadline(kListTimeout));
    if (!stopper.Attach(&context)) return grpc::Status::CANCELLED;
    grpc::Status status = stub.ListDomains(&context, request, &page);
    stopper.Detach();
    // A page token from a restarted agent, or for a snapshot the agent no
    // longer retains, is FAILED_PRECONDITION: the caller lists again from
    // the first page.
    if (!status.ok()) return status;
    for (Domain& domain : *page.mutable_domains()) {
      const uint32_t domid = domain.domid();
      domains[domid] = std::move(domain);
    }
    token = page.next_page_token();
  } while (!token.empty());
  // Every page carries the same snapshot.
  model.Replace(std::move(domains), page.snapshot());
  Log(absl::StrCat("listed ", model.size(), " domains at ",
                   page.snapshot().instance_id(), " revision ",
                   page.snapshot().revision()));
  return grpc::Status::OK;
}

struct Options {
  std::string socket = "/run/xenlet/xenlet.sock";
  std::string address;
  double bookmark_interval = 0;
  bool dump = false;
};

// One WatchDomains stream, applied to the model until it ends; *events
// counts what arrived.
grpc::Status Watch(DomainService::Stub& stub, const Options& options,
                   Stopper& stopper, HostModel& model, int64_t* events) {
  WatchDomainsRequest request;
  *request.mutable_resume() = *model.resume();
  request.set_resync_inline(true);
  if (options.bookmark_interval > 0) {
    const int64_t nanos = std::llround(options.bookmark_interval * 1e9);
    request.mutable_bookmark_interval()->set_seconds(nanos / 1000000000);
    request.mutable_bookmark_interval()->set_nanos(nanos % 1000000000);
  }
  grpc::ClientContext context;  // no deadline: it runs until stopped
  if (!stopper.Attach(&context)) return grpc::Status::CANCELLED;
  auto reader = stub.WatchDomains(&context, request);
  WatchDomainsResponse event;
  while (reader->Read(&event)) {
    ++*events;
    if (event.type() == xenlet::v1::EVENT_TYPE_RESYNC_REQUIRED) {
      Log(absl::StrCat(
          "RESYNC_REQUIRED (",
          ShortName(xenlet::v1::ResyncReason_Name(event.resync_reason()),
                    "RESYNC_REASON_", event.resync_reason()),
          "): cannot resume from ", model.resume()->instance_id(), " revision ",
          model.resume()->revision(), "; agent ", event.instance_id(),
          " sends its current state"));
    }
    if (model.Apply(event)) {
      std::string out = model.Summary(event.type());
      if (options.dump) absl::StrAppend(&out, "\n", model.Dump());
      std::cout << out << std::endl;  // one whole block, flushed
    }
  }
  grpc::Status status = reader->Finish();
  stopper.Detach();
  model.StreamEnded();
  return status;
}

int Run(DomainService::Stub& stub, const Options& options, Stopper& stopper) {
  HostModel model;
  absl::Duration backoff = kBackoffInitial;
  std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  while (!stopper.stopped()) {
    int64_t events = 0;
    grpc::Status status;
    if (!model.resume().has_value()) {
      status = ListAll(stub, stopper, model);
      if (status.ok()) ++events;
    }
    if (status.ok()) status = Watch(stub, options, stopper, model, &events);
    if (stopper.stopped()) break;
    const std::string why = status.ok()
                                ? std::string("stream ended by the agent")
                                : absl::StrCat(CodeName(status.error_code()),
                                               ": ", status.error_message());
    if (!Retryable(status.error_code())) {
      Log(why);
      return 1;
    }
    if (events > 0) backoff = kBackoffInitial;  // it worked for a while
    // Jitter, so that the clients of a restarted agent do not all come back
    // at the same moment.
    const absl::Duration delay = backoff * jitter(random);
    Log(absl::StrCat(
        why, "; reconnecting in ",
        absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(100))),
        " to ",
        model.resume().has_value()
            ? absl::StrCat("resume from ", model.resume()->instance_id(),
                           " revision ", model.resume()->revision())
            : std::string("list again")));
    if (stopper.WaitFor(delay)) break;
    backoff = std::min(backoff * 2, kBackoffMax);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app(
      "Keep a live model of one host's domains from its xenlet agent "
      "(ListDomains, then WatchDomains resumed from the listing's "
      "snapshot); print a summary at every catch-up (SYNCED, BOOKMARK).",
      kProg);
  CLI::Option* socket =
      app.add_option("--socket", options.socket, "The agent's unix socket")
          ->capture_default_str();
  app.add_option("--address", options.address,
                 "HOST:PORT of the agent's plaintext loopback TCP listener")
      ->excludes(socket);
  app.add_option("--bookmark-interval", options.bookmark_interval,
                 "BOOKMARK interval on an idle stream, 1..3600 seconds (0: "
                 "the agent's default)");
  app.add_flag("--dump", options.dump,
               "Print the whole model after each summary");
  CLI11_PARSE(app, argc, argv);
  const double bookmark = options.bookmark_interval;
  if (bookmark != 0 && !(bookmark >= 1 && bookmark <= 3600)) {
    std::cerr << kProg
              << ": --bookmark-interval: must be 0 or 1..3600 seconds\n";
    return 2;
  }

  Stopper stopper;
  // Before the channel exists, so that gRPC's threads never take the
  // signals.
  SignalThread signals(stopper);
  grpc::ChannelArguments args;
  // gRPC's own reconnect backoff (up to 120 s by default) would otherwise
  // hold calls back longer than ours after a long outage.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              absl::ToInt64Milliseconds(kBackoffMax));
  auto channel = grpc::CreateCustomChannel(
      options.address.empty() ? "unix:" + options.socket : options.address,
      grpc::InsecureChannelCredentials(), args);
  auto stub = DomainService::NewStub(channel);
  return Run(*stub, options, stopper);
}

#include "tools/bootstorm/live_display.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/process_cpu.h"
#include "google/protobuf/util/time_util.h"

namespace xenlet::bootstorm {
namespace {

// "TRANSITION_STARTED" -> "STARTED"; "DOMAIN_STATE_RUNNING" -> "running".
std::string Short(const std::string& name, std::string_view prefix,
                  bool lower) {
  std::string out =
      name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
  return lower ? absl::AsciiStrToLower(out) : out;
}

// Per cent of one core between two readings, if both are known.
std::optional<double> CpuPercent(double before, double after, double wall) {
  if (before < 0 || after < 0 || wall <= 0) return std::nullopt;
  return std::max(0.0, (after - before) / wall * 100);
}

}  // namespace

std::string FormatSampledEvent(const v1::WatchDomainsResponse& event,
                               absl::Time received) {
  const v1::Domain& d = event.domain();
  std::string state =
      Short(v1::DomainState_Name(d.state()), "DOMAIN_STATE_", true);
  if (d.shutdown_reason() != v1::SHUTDOWN_REASON_UNSPECIFIED) {
    absl::StrAppend(&state, " (",
                    Short(v1::ShutdownReason_Name(d.shutdown_reason()),
                          "SHUTDOWN_REASON_", true),
                    ")");
  }
  // A domain's first event can come before the toolstack named it.
  std::string name = d.name().empty() ? "-" : d.name().substr(0, 16);
  std::string line = absl::StrFormat(
      "  %s  %-10s domid %-5u %-16s %s",
      absl::FormatTime("%H:%M:%E3S", received, absl::LocalTimeZone()),
      Short(v1::Transition_Name(event.transition()), "TRANSITION_", false),
      d.domid(), name, state);
  if (line.size() > static_cast<size_t>(kPanelWidth)) line.resize(kPanelWidth);
  return line;
}

LiveDisplay::LiveDisplay(LiveDisplayOptions options,
                         const WatchRecorder* client, const StepLog* steps,
                         std::shared_ptr<grpc::Channel> channel)
    : options_(options),
      client_(client),
      steps_(steps),
      host_(v1::HostService::NewStub(channel)) {}

LiveDisplay::~LiveDisplay() { Stop(); }

void LiveDisplay::Start() {
  last_tick_ = absl::Now();
  last_agent_cpu_ =
      options_.agent_pid > 0 ? ProcessCpuSeconds(options_.agent_pid) : -1;
  last_xenstored_cpu_ = options_.xenstored_pid > 0
                            ? ProcessCpuSeconds(options_.xenstored_pid)
                            : -1;
  PanelFigures first = Gather(last_tick_);  // the counters' starting points
  if (options_.terminal) {  // on a terminal the panel is there from the start
    absl::MutexLock out(&out_mutex_);
    panel_ = RenderPanel(first);
    Draw(panel_);
  }
  thread_ = std::thread([this] { Run(); });
}

void LiveDisplay::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stop_) return;
    stop_ = true;
    phase_ = "finished";
    converging_ = false;
  }
  if (!thread_.joinable()) return;
  thread_.join();
  std::vector<std::string> last = RenderPanel(Gather(absl::Now()));
  absl::MutexLock out(&out_mutex_);
  panel_ = last;
  Draw(last);
  drawn_lines_ = 0;  // it stays: what follows is printed below it
  panel_.clear();
}

void LiveDisplay::SetPhase(const std::string& phase, uint64_t total) {
  absl::MutexLock lock(&mutex_);
  phase_ = phase;
  total_ = total;
  done_ = 0;
  converging_ = false;
  phase_start_ = absl::Now();
}

void LiveDisplay::SetDone(uint64_t done) {
  absl::MutexLock lock(&mutex_);
  done_ = done;
}

void LiveDisplay::SetConverging() {
  absl::MutexLock lock(&mutex_);
  converging_ = true;
}

void LiveDisplay::Print(const std::string& line) {
  absl::MutexLock out(&out_mutex_);
  if (options_.terminal) Erase();
  std::fprintf(options_.out, "%s\n", line.c_str());
  if (options_.terminal) Draw(panel_);
  std::fflush(options_.out);
}

void LiveDisplay::OfferEvent(const v1::WatchDomainsResponse& event) {
  if (options_.samples_per_second <= 0 || !event.has_domain()) return;
  // Lifecycle transitions only: key updates (UPDATED) outnumber them and
  // say less.
  if (event.transition() == v1::TRANSITION_UPDATED) return;
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mutex_);
    if (stop_) return;  // the final panel is drawn: the summary follows
    if (now - last_sample_ < absl::Seconds(1 / options_.samples_per_second)) {
      return;
    }
    last_sample_ = now;
  }
  Print(FormatSampledEvent(event, now));
}

void LiveDisplay::Run() {
  const bool terminal = options_.terminal;
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (mutex_.AwaitWithTimeout(absl::Condition(&stop_), options_.interval)) {
        return;
      }
    }
    std::vector<std::string> lines = RenderPanel(Gather(absl::Now()));
    absl::MutexLock out(&out_mutex_);
    panel_ = lines;
    if (terminal) {
      Draw(lines);
    } else {
      for (const std::string& line : lines) {
        std::fprintf(options_.out, "%s\n", line.c_str());
      }
      std::fflush(options_.out);
    }
  }
}

void LiveDisplay::Erase() {
  if (drawn_lines_ == 0) return;
  // Up to the panel's first line, then clear to the end of the screen.
  std::fprintf(options_.out, "\x1b[%zuA\r\x1b[J", drawn_lines_);
  drawn_lines_ = 0;
}

void LiveDisplay::Draw(const std::vector<std::string>& panel) {
  if (!options_.terminal) {
    for (const std::string& line : panel) {
      std::fprintf(options_.out, "%s\n", line.c_str());
    }
    std::fflush(options_.out);
    return;
  }
  Erase();
  for (const std::string& line : panel) {
    std::fprintf(options_.out, "%s\n", line.c_str());
  }
  drawn_lines_ = panel.size();
  std::fflush(options_.out);
}

PanelFigures LiveDisplay::Gather(absl::Time now) {
  PanelFigures f;
  {
    absl::MutexLock lock(&mutex_);
    f.phase = phase_;
    f.done = done_;
    f.total = total_;
    f.converging = converging_;
    f.phase_seconds =
        phase_.empty() ? 0 : absl::ToDoubleSeconds(now - phase_start_);
  }
  std::vector<WatchRecorder::Received> fresh;
  client_->With([&](const WatchRecorder::Snapshot& s) {
    for (const auto& entry : s.domains) {
      switch (entry.second.state()) {
        case v1::DOMAIN_STATE_CREATED:
          ++f.created;
          break;
        case v1::DOMAIN_STATE_RUNNING:
          ++f.running;
          break;
        case v1::DOMAIN_STATE_PAUSED:
          ++f.paused;
          break;
        case v1::DOMAIN_STATE_SHUTDOWN:
          ++f.shutdown;
          break;
        case v1::DOMAIN_STATE_DYING:
          ++f.dying;
          break;
        default:
          break;
      }
    }
    f.events = s.events;
    if (matched_ < s.received.size()) {
      fresh.assign(s.received.begin() + matched_, s.received.end());
      matched_ = s.received.size();
    }
  });
  for (const WatchRecorder::Received& r : fresh) {
    auto kind = CauseOf(r.transition);
    std::optional<absl::Time> action;
    if (kind) action = steps_->Find(r.domid, *kind, r.received);
    if (action) {
      latencies_ms_.push_back(absl::ToDoubleMilliseconds(r.received - *action));
    }
  }
  if (!latencies_ms_.empty()) {
    f.latency_p50_ms = Percentile(latencies_ms_, 0.5);
    f.latency_p99_ms = Percentile(latencies_ms_, 0.99);
  }

  const double wall = absl::ToDoubleSeconds(now - last_tick_);
  if (wall > 0) f.events_per_second = (f.events - last_events_) / wall;
  last_events_ = f.events;

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(now + absl::Seconds(1)));
  v1::Host host;
  if (host_->GetHost(&context, v1::GetHostRequest(), &host).ok()) {
    const uint64_t requests = host.xenstore().requests_total();
    const uint64_t hypercalls = host.sweep().hypercalls_total();
    if (have_host_ && wall > 0) {
      // Counters only grow, unless the agent restarted: then unknown.
      if (requests >= last_requests_ && hypercalls >= last_hypercalls_) {
        f.xenstore_requests_per_second = (requests - last_requests_) / wall;
        f.hypercalls_per_second = (hypercalls - last_hypercalls_) / wall;
      }
    }
    last_requests_ = requests;
    last_hypercalls_ = hypercalls;
    have_host_ = true;
  }

  const double agent_cpu =
      options_.agent_pid > 0 ? ProcessCpuSeconds(options_.agent_pid) : -1;
  const double xenstored_cpu = options_.xenstored_pid > 0
                                   ? ProcessCpuSeconds(options_.xenstored_pid)
                                   : -1;
  f.agent_cpu_percent = CpuPercent(last_agent_cpu_, agent_cpu, wall);
  f.xenstored_cpu_percent =
      CpuPercent(last_xenstored_cpu_, xenstored_cpu, wall);
  last_agent_cpu_ = agent_cpu;
  last_xenstored_cpu_ = xenstored_cpu;
  last_tick_ = now;
  return f;
}

}  // namespace xenlet::bootstorm

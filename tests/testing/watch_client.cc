#include "tests/testing/watch_client.h"

#include <google/protobuf/util/message_differencer.h>

#include <chrono>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace xenlet::testing {
namespace {

const char* TypeName(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_ADDED:
      return "ADDED";
    case v1::EVENT_TYPE_MODIFIED:
      return "MODIFIED";
    case v1::EVENT_TYPE_DELETED:
      return "DELETED";
    case v1::EVENT_TYPE_SYNCED:
      return "SYNCED";
    case v1::EVENT_TYPE_BOOKMARK:
      return "BOOKMARK";
    case v1::EVENT_TYPE_STATS:
      return "STATS";
    case v1::EVENT_TYPE_RESYNC_REQUIRED:
      return "RESYNC_REQUIRED";
    default:
      return "UNSPECIFIED";
  }
}

}  // namespace

WatchClient::WatchClient(WatchClientOptions options)
    : options_(std::move(options)) {
  absl::MutexLock lock(&mutex_);
  holding_ = options_.hold_reads;
}

WatchClient::~WatchClient() { Stop(); }

void WatchClient::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void WatchClient::Disconnect() {
  absl::MutexLock lock(&mutex_);
  allowed_ = false;
  if (context_) context_->TryCancel();
}

void WatchClient::HoldReconnect() {
  absl::MutexLock lock(&mutex_);
  allowed_ = false;
}

void WatchClient::Reconnect() {
  absl::MutexLock lock(&mutex_);
  allowed_ = true;
}

void WatchClient::ReleaseReads() {
  absl::MutexLock lock(&mutex_);
  holding_ = false;
}

void WatchClient::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    if (context_) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

WatchClientState WatchClient::state() const {
  absl::MutexLock lock(&mutex_);
  WatchClientState out = state_;
  if (!stream_coalesced_) out.unexplained_gaps += stream_gaps_;
  return out;
}

bool WatchClient::WaitUntil(
    const std::function<bool(const WatchClientState&)>& pred,
    absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto holds = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return pred(state_);
  };
  return mutex_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

bool WatchClient::WaitForRevision(const std::string& instance_id,
                                  uint64_t revision, absl::Duration timeout) {
  return WaitUntil(
      [&](const WatchClientState& s) {
        return s.live && s.instance_id == instance_id && s.revision >= revision;
      },
      timeout);
}

void WatchClient::Violation(std::string what) {
  state_.violations.push_back(absl::StrCat(options_.name, ": ", what));
}

void WatchClient::Loop() {
  while (true) {
    v1::WatchDomainsRequest request;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(options_.stream_deadline));
    // The agent may be restarting: wait for it rather than fail at once.
    context.set_wait_for_ready(true);
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || allowed_;
      };
      mutex_.Await(absl::Condition(&ready));
      if (stopping_) return;
      if (state_.has_point) {
        request.mutable_resume()->set_instance_id(state_.instance_id);
        request.mutable_resume()->set_revision(state_.resume_revision);
        request.set_resync_inline(options_.resync_inline);
        ++state_.resumes;
        resumed_stream_ = true;
        in_initial_ = false;
      } else {
        // The whole state again: what the model held is replaced.
        request.set_initial_state(true);
        state_.domains.clear();
        resumed_stream_ = false;
        in_initial_ = true;
      }
      initial_revision_.reset();
      stream_gaps_ = 0;
      stream_coalesced_ = false;
      ++state_.streams;
      state_.live = false;
      context_ = &context;
    }
    // A channel (and connection) of its own per stream: no state (reconnect
    // backoff, flow-control windows) carried over from the last one.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    if (options_.window_bytes > 0) {
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
      args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, options_.window_bytes);
    }
    auto stub = v1::DomainService::NewStub(grpc::CreateCustomChannel(
        options_.target, grpc::InsecureChannelCredentials(), args));
    std::unique_ptr<grpc::ClientReader<v1::WatchDomainsResponse>> reader =
        stub->WatchDomains(&context, request);
    v1::WatchDomainsResponse message;
    while (reader->Read(&message)) {
      absl::MutexLock lock(&mutex_);
      Apply(message);
      auto go_on = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || !holding_ || !state_.live;
      };
      mutex_.Await(absl::Condition(&go_on));
    }
    grpc::Status status = reader->Finish();
    absl::MutexLock lock(&mutex_);
    context_ = nullptr;
    ++state_.stream_ends;
    if (stream_gaps_ > 0 && !stream_coalesced_) {
      state_.unexplained_gaps += stream_gaps_;
      Violation(absl::StrCat(stream_gaps_,
                             " revisions skipped on a stream without any "
                             "coalesced event (lost events)"));
    }
    stream_gaps_ = 0;
    state_.last_end_code = status.error_code();
    state_.last_end_message = status.error_message();
    state_.live = false;
    if (in_initial_) {
      // Cut short inside an initial state: that state is incomplete. A
      // resume point, if any, still stands (after an inline resync it is
      // refused again, and the state sent again).
      in_initial_ = false;
    }
  }
}

void WatchClient::Apply(const v1::WatchDomainsResponse& m) {
  const v1::EventType type = m.type();
  switch (type) {
    case v1::EVENT_TYPE_ADDED:
    case v1::EVENT_TYPE_MODIFIED:
    case v1::EVENT_TYPE_DELETED: {
      ++state_.events;
      if (m.coalesced()) ++state_.coalesced;
      const uint32_t domid = m.domain().domid();
      if (!m.domain().name().empty()) {
        state_.names_by_uuid[m.domain().uuid()].insert(m.domain().name());
      }
      if (in_initial_) {
        if (type != v1::EVENT_TYPE_ADDED) {
          Violation(absl::StrCat(TypeName(type), " of domid ", domid,
                                 " inside an initial state"));
        }
        if (!initial_revision_) {
          initial_revision_ = m.revision();
        } else if (*initial_revision_ != m.revision()) {
          Violation(absl::StrCat("initial state ADDED at revision ",
                                 m.revision(), " after one at ",
                                 *initial_revision_));
        }
        state_.domains[domid] = m.domain();
        return;
      }
      if (!state_.has_point) {
        Violation(absl::StrCat("live ", TypeName(type), " of domid ", domid,
                               " before any SYNCED"));
      } else if (m.instance_id() != state_.instance_id) {
        Violation(absl::StrCat("live event of instance ", m.instance_id(),
                               " on a stream of ", state_.instance_id));
      } else if (m.revision() <= state_.revision) {
        Violation(absl::StrCat(TypeName(type), " of domid ", domid,
                               " at revision ", m.revision(),
                               " after revision ", state_.revision,
                               " (duplicated or out of order)"));
      } else {
        stream_gaps_ += m.revision() - state_.revision - 1;
      }
      if (m.coalesced()) stream_coalesced_ = true;
      if (resumed_stream_ && !state_.live) ++state_.replayed;
      const bool known = state_.domains.count(domid) > 0;
      // A coalesced event stands for several changes, possibly ADDED and
      // DELETED of one domain: it need not follow what the client holds.
      if (!m.coalesced()) {
        if (type == v1::EVENT_TYPE_ADDED && known) {
          Violation(absl::StrCat("ADDED of domid ", domid, " at revision ",
                                 m.revision(), " while it is held"));
        } else if (type != v1::EVENT_TYPE_ADDED && !known) {
          Violation(absl::StrCat(TypeName(type), " of unknown domid ", domid,
                                 " at revision ", m.revision()));
        } else if (type == v1::EVENT_TYPE_MODIFIED) {
          // The transition follows from the state held: a lost event shows
          // up here (an UNPAUSED of a domain held RUNNING, ...).
          const v1::DomainState from = state_.domains[domid].state();
          const v1::DomainState to = m.domain().state();
          const bool updated = m.transition() == v1::TRANSITION_UPDATED;
          if (updated != (from == to) ||
              (m.transition() == v1::TRANSITION_STARTED &&
               from != v1::DOMAIN_STATE_CREATED) ||
              (m.transition() == v1::TRANSITION_RESUMED &&
               from != v1::DOMAIN_STATE_SHUTDOWN)) {
            Violation(absl::StrCat(
                "MODIFIED of domid ", domid, " at revision ", m.revision(),
                ": ", v1::Transition_Name(m.transition()), " from ",
                v1::DomainState_Name(from), " to ", v1::DomainState_Name(to)));
          }
        }
      }
      if (type == v1::EVENT_TYPE_DELETED) {
        state_.domains.erase(domid);
        ++state_.deletions_by_uuid[m.domain().uuid()];
      } else {
        state_.domains[domid] = m.domain();
      }
      if (m.revision() > state_.revision ||
          m.instance_id() != state_.instance_id) {
        state_.revision = m.revision();
        state_.instance_id = m.instance_id();
      }
      if (!in_initial_ && !m.coalesced()) {
        state_.resume_revision = m.revision();
      }
      return;
    }
    case v1::EVENT_TYPE_SYNCED:
      ++state_.synced;
      if (in_initial_) {
        if (initial_revision_ && *initial_revision_ != m.revision()) {
          Violation(absl::StrCat("SYNCED at revision ", m.revision(),
                                 " after an initial state at ",
                                 *initial_revision_));
        }
        in_initial_ = false;
      } else if (state_.has_point && m.instance_id() == state_.instance_id &&
                 m.revision() < state_.revision) {
        Violation(absl::StrCat("SYNCED at revision ", m.revision(),
                               " after revision ", state_.revision));
      }
      state_.has_point = true;
      state_.instance_id = m.instance_id();
      state_.revision = m.revision();
      state_.resume_revision = m.revision();
      state_.live = true;
      return;
    case v1::EVENT_TYPE_BOOKMARK:
      ++state_.bookmarks;
      if (!state_.live) {
        Violation("BOOKMARK before SYNCED");
      } else if (m.instance_id() != state_.instance_id ||
                 m.revision() < state_.revision) {
        Violation(absl::StrCat("BOOKMARK at ", m.instance_id(), "/",
                               m.revision(), " after ", state_.instance_id, "/",
                               state_.revision));
      } else {
        state_.revision = m.revision();
        state_.resume_revision = m.revision();
      }
      return;
    case v1::EVENT_TYPE_RESYNC_REQUIRED:
      state_.resyncs.push_back(m.resync_reason());
      if (!resumed_stream_ || state_.live) {
        Violation("RESYNC_REQUIRED on a stream that was not resuming");
      }
      if (options_.resync_inline) {
        // The current state follows: it replaces the model.
        state_.domains.clear();
        in_initial_ = true;
        initial_revision_.reset();
      } else {
        state_.has_point = false;
      }
      return;
    case v1::EVENT_TYPE_STATS:
      return;
    default:
      Violation(absl::StrCat("unknown message type ", type));
      return;
  }
}

v1::Domain StableFields(const v1::Domain& domain) {
  v1::Domain d = domain;
  d.mutable_flags()->clear_running();
  d.mutable_flags()->clear_blocked();
  d.clear_vcpus_online();
  d.clear_cpu_time_ns();
  d.mutable_memory()->clear_current_bytes();
  d.mutable_memory()->clear_shared_bytes();
  d.mutable_memory()->clear_outstanding_bytes();
  return d;
}

std::vector<std::string> DiffModels(
    const std::map<uint32_t, v1::Domain>& expected,
    const std::map<uint32_t, v1::Domain>& actual) {
  std::vector<std::string> out;
  std::set<uint32_t> domids;
  for (const auto& [domid, d] : expected) domids.insert(domid);
  for (const auto& [domid, d] : actual) domids.insert(domid);
  for (uint32_t domid : domids) {
    auto e = expected.find(domid);
    auto a = actual.find(domid);
    if (e == expected.end()) {
      out.push_back(absl::StrCat(
          "domid ", domid, " unexpected: ", a->second.ShortDebugString()));
    } else if (a == actual.end()) {
      out.push_back(absl::StrCat("domid ", domid,
                                 " missing: ", e->second.ShortDebugString()));
    } else {
      v1::Domain want = StableFields(e->second);
      v1::Domain got = StableFields(a->second);
      if (!google::protobuf::util::MessageDifferencer::Equals(want, got)) {
        out.push_back(absl::StrCat("domid ", domid, " differs: expected ",
                                   want.ShortDebugString(), " got ",
                                   got.ShortDebugString()));
      }
    }
  }
  return out;
}

}  // namespace xenlet::testing

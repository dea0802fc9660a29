#include "agent/domain_actions.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "agent/grpc_status.h"
#include "common/log.h"
#include "store/uuid.h"
#include "xen/errno_status.h"

namespace xenlet::agent {
namespace {

using xen::Domid;

// How long a forced shutdown may take to show in the model before the
// domain is destroyed instead.
constexpr absl::Duration kForcedShutdownGrace = absl::Seconds(2);
// How long after an action its events are still taken for its caller's
// (the next timer sweep may be what sees them).
constexpr absl::Duration kExpectSlack = absl::Seconds(30);
// The longest a wait goes without looking at the caller's cancellation.
constexpr absl::Duration kCancelCheck = absl::Milliseconds(100);

void Outcome(v1::ControlResult* r, v1::ControlOutcome outcome,
             const absl::Status& status) {
  r->set_outcome(outcome);
  r->set_xen_errno(xen::StatusErrno(status));
  SetItemStatus(status, r->mutable_status());
}

// The domain a selector names in snapshot, or the reason it names none.
absl::StatusOr<store::DomainPtr> Resolve(const store::DomainStore& store,
                                         const store::Snapshot& snapshot,
                                         const v1::DomainSelector& s,
                                         v1::ControlOutcome* outcome) {
  *outcome = v1::CONTROL_OUTCOME_NOT_FOUND;
  switch (s.selector_case()) {
    case v1::DomainSelector::kDomid: {
      store::DomainPtr d = snapshot.domains.Get(s.domid());
      if (!d) return absl::NotFoundError(absl::StrCat("no domain ", s.domid()));
      if (!s.expect_uuid().empty() &&
          store::CanonicalUuid(s.expect_uuid()) != d->uuid()) {
        *outcome = v1::CONTROL_OUTCOME_REFUSED;
        return absl::FailedPreconditionError(
            absl::StrCat("domid ", s.domid(), " is now domain ", d->uuid(),
                         ", not ", s.expect_uuid(), " (the domid was reused)"));
      }
      return d;
    }
    case v1::DomainSelector::kUuid: {
      auto uuid = store::CanonicalUuid(s.uuid());
      std::vector<store::DomainPtr> found =
          uuid ? store.FindByUuid(snapshot, *uuid)
               : std::vector<store::DomainPtr>{};
      // A re-created domain and its dying predecessor: the live one.
      for (const store::DomainPtr& d : found) {
        if (!d->flags().dying()) return d;
      }
      if (!found.empty()) return found.front();
      return absl::NotFoundError(
          absl::StrCat("no domain with uuid ", s.uuid()));
    }
    case v1::DomainSelector::kName: {
      std::vector<store::DomainPtr> found =
          store.FindByName(snapshot, s.name());
      if (found.size() == 1) return found.front();
      if (found.empty()) {
        return absl::NotFoundError(
            absl::StrCat("no domain named \"", s.name(), "\""));
      }
      std::vector<uint32_t> domids;
      for (const auto& d : found) domids.push_back(d->domid());
      *outcome = v1::CONTROL_OUTCOME_REFUSED;
      return absl::FailedPreconditionError(
          absl::StrCat("\"", s.name(), "\" names several domains (",
                       absl::StrJoin(domids, ", "), "): select by uuid"));
    }
    case v1::DomainSelector::SELECTOR_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("empty selector");
}

// Why a domain is never acted on, if it is one of those.
std::optional<std::string> Untouchable(const v1::Domain& d) {
  if (d.domid() == 0) {
    return "dom0 is the host itself: xenlet never acts on it (a remote "
           "shutdown of dom0 halts the machine)";
  }
  if (d.flags().xenstore_domain()) {
    return absl::StrCat("domain ", d.domid(),
                        " runs xenstore: xenlet never acts on it");
  }
  return std::nullopt;
}

// One xenstore connection per batch, made when first needed.
class BatchXenstore {
 public:
  explicit BatchXenstore(const ActionBackends& b) : b_(b) {}
  absl::StatusOr<xen::XenstoreClient*> Get() {
    if (!client_) {
      if (!b_.connect_xenstore) {
        return absl::UnavailableError("no xenstore connection");
      }
      auto c = b_.connect_xenstore();
      if (!c.ok()) return c.status();
      client_ = std::move(*c);
    }
    return client_.get();
  }

 private:
  const ActionBackends& b_;
  std::unique_ptr<xen::XenstoreClient> client_;
};

const char* Word(xen::ShutdownReason reason) {
  return xen::ShutdownRequestWord(reason);
}

}  // namespace

std::vector<v1::ControlResult> DomainActions::Run(
    DomainAction action,
    const google::protobuf::RepeatedPtrField<v1::DomainSelector>& selectors,
    const std::string& caller, const ShutdownOptions& shutdown,
    const std::function<bool()>& cancelled) {
  std::vector<v1::ControlResult> results(selectors.size());
  std::shared_ptr<const store::Snapshot> snapshot = b_.store->snapshot();
  std::map<Domid, int> first_selector;  // domid -> index that acts on it
  std::vector<std::pair<int, store::DomainPtr>> targets;
  for (int i = 0; i < selectors.size(); ++i) {
    v1::ControlResult& r = results[i];
    *r.mutable_selector() = selectors[i];
    v1::ControlOutcome outcome;
    auto d = Resolve(*b_.store, *snapshot, selectors[i], &outcome);
    if (!d.ok()) {
      Outcome(&r, outcome, d.status());
      continue;
    }
    r.set_domid((*d)->domid());
    r.set_uuid((*d)->uuid());
    if (auto why = Untouchable(**d)) {
      Outcome(&r, v1::CONTROL_OUTCOME_REFUSED,
              absl::FailedPreconditionError(*why));
      continue;
    }
    auto [it, fresh] = first_selector.emplace((*d)->domid(), i);
    if (!fresh) {
      Outcome(&r, v1::CONTROL_OUTCOME_REFUSED,
              absl::FailedPreconditionError(
                  absl::StrCat("the same domain as selectors[", it->second,
                               "]: acted on once")));
      continue;
    }
    targets.push_back({i, *d});
  }

  BatchXenstore xenstore(b_);
  auto xs_or_null = [&]() -> xen::XenstoreClient* {
    auto xs = xenstore.Get();
    if (xs.ok()) return *xs;
    LogWarning("control_xenstore_unavailable",
               {{"error", std::string(xs.status().message())}});
    return nullptr;
  };
  std::vector<Domid> asked;      // shutdown requests written, by domid
  std::vector<Domid> force_now;  // to force without waiting (see below)
  std::map<Domid, int> index_of;
  std::map<Domid, uint64_t> expectation_of;
  for (const auto& [i, d] : targets) {
    v1::ControlResult& r = results[i];
    const Domid domid = d->domid();
    index_of[domid] = i;
    // The model may lag the hypervisor (a pause makes no event before the
    // next sweep): what is already so is read from Xen, for this domain.
    auto now = b_.hypervisor->GetDomainInfo(domid);
    if (!now.ok() && now.status().code() == absl::StatusCode::kNotFound) {
      Outcome(&r,
              action == DomainAction::kDestroy ? v1::CONTROL_OUTCOME_ALREADY
                                               : v1::CONTROL_OUTCOME_NOT_FOUND,
              action == DomainAction::kDestroy
                  ? absl::OkStatus()
                  : absl::NotFoundError(
                        absl::StrCat("domain ", domid, " is gone")));
      continue;
    }
    if (!now.ok()) {
      Outcome(&r, v1::CONTROL_OUTCOME_FAILED, now.status());
      continue;
    }
    if (now->Uuid() != d->uuid()) {
      Outcome(&r, v1::CONTROL_OUTCOME_REFUSED,
              absl::FailedPreconditionError(
                  absl::StrCat("domid ", domid, " was just re-used by domain ",
                               now->Uuid(), "; nothing done")));
      continue;
    }
    const bool dying = now->dying;
    const bool paused = now->paused;
    const bool is_shut_down = now->shutdown;
    // Before each action: the events it causes are the caller's (the
    // reconciler may commit them before the action returns).
    const absl::Duration within =
        (action == DomainAction::kShutdown ? shutdown.timeout
                                           : absl::ZeroDuration()) +
        kExpectSlack;
    absl::Status s;
    switch (action) {
      case DomainAction::kPause:
      case DomainAction::kUnpause: {
        const bool pause = action == DomainAction::kPause;
        if (dying) {
          Outcome(&r, v1::CONTROL_OUTCOME_REFUSED,
                  absl::FailedPreconditionError("the domain is dying"));
          continue;
        }
        if (paused == pause) {
          Outcome(&r, v1::CONTROL_OUTCOME_ALREADY, absl::OkStatus());
          continue;
        }
        expectation_of[domid] =
            Expect(action, *d, is_shut_down, caller, within);
        s = pause ? b_.hypervisor->PauseDomain(domid)
                  : b_.hypervisor->UnpauseDomain(domid);
        break;
      }
      case DomainAction::kDestroy:
        if (dying) {
          Outcome(&r, v1::CONTROL_OUTCOME_ALREADY, absl::OkStatus());
          continue;
        }
        expectation_of[domid] =
            Expect(action, *d, is_shut_down, caller, within);
        s = Destroy(domid, d->uuid(), dying, xs_or_null());
        break;
      case DomainAction::kShutdown:
        if (dying || is_shut_down) {
          Outcome(&r, v1::CONTROL_OUTCOME_ALREADY, absl::OkStatus());
          continue;
        }
        expectation_of[domid] =
            Expect(action, *d, is_shut_down, caller, within);
        if (shutdown.timeout == absl::ZeroDuration()) {
          force_now.push_back(domid);  // force at once was asked
          continue;
        }
        {
          // libxl__domain_pvcontrol_write: the request word.
          auto xs = xenstore.Get();
          s = xs.ok() ? (*xs)->Write(absl::StrCat(xen::DomainPath(domid),
                                                  "/control/shutdown"),
                                     Word(shutdown.reason))
                      : xs.status();
        }
        if (s.ok()) {
          asked.push_back(domid);
          continue;  // decided after the wait
        }
        if (shutdown.force) {
          // The guest was never asked: waiting for it would be for nothing.
          LogWarning("control_shutdown_request_failed",
                     {{"domid", domid},
                      {"error", std::string(s.message())},
                      {"then", "forced without waiting"}});
          force_now.push_back(domid);
          continue;
        }
        break;
    }
    if (!s.ok()) Withdraw(expectation_of[domid]);
    Outcome(&r, s.ok() ? v1::CONTROL_OUTCOME_DONE : v1::CONTROL_OUTCOME_FAILED,
            s);
  }
  // Let the model see at once what was done.
  if (!targets.empty() && b_.resync) b_.resync();
  if (action != DomainAction::kShutdown) return results;
  if (asked.empty() && force_now.empty()) return results;

  // The guests' answers, seen in the model; then force what is left. A
  // guest that answers after the timeout still does what was asked: its
  // events keep the caller as initiator until the expectation runs out.
  std::vector<Domid> left =
      AwaitShutdown(asked, absl::Now() + shutdown.timeout, cancelled);
  for (Domid domid : asked) {
    if (std::find(left.begin(), left.end(), domid) == left.end()) {
      Outcome(&results[index_of[domid]], v1::CONTROL_OUTCOME_DONE,
              absl::OkStatus());
    }
  }
  left.insert(left.end(), force_now.begin(), force_now.end());
  if (!shutdown.force) {
    for (Domid domid : left) {
      Outcome(&results[index_of[domid]], v1::CONTROL_OUTCOME_FAILED,
              absl::DeadlineExceededError(absl::StrCat(
                  "domain ", domid, " did not shut down within ",
                  absl::FormatDuration(shutdown.timeout),
                  " (its guest ignores control/shutdown?); force was not "
                  "asked")));
    }
    return results;
  }
  std::vector<Domid> forced;
  for (Domid domid : left) {
    v1::ControlResult& r = results[index_of[domid]];
    r.set_forced(true);
    absl::Status s = b_.hypervisor->ShutdownDomain(domid, shutdown.reason);
    if (!s.ok()) {
      Withdraw(expectation_of[domid]);
      Outcome(&r, v1::CONTROL_OUTCOME_FAILED, s);
      continue;
    }
    forced.push_back(domid);
  }
  const std::vector<Domid> stuck =
      AwaitShutdown(forced, absl::Now() + kForcedShutdownGrace, cancelled);
  for (Domid domid : forced) {
    v1::ControlResult& r = results[index_of[domid]];
    absl::Status s;
    if (std::find(stuck.begin(), stuck.end(), domid) != stuck.end()) {
      // Not even Xen's shutdown took: destroy it, as libxl would.
      s = Destroy(domid, r.uuid(), false, xs_or_null());
    }
    if (!s.ok()) Withdraw(expectation_of[domid]);
    Outcome(&r, s.ok() ? v1::CONTROL_OUTCOME_DONE : v1::CONTROL_OUTCOME_FAILED,
            s);
  }
  return results;
}

void DomainActions::Withdraw(uint64_t handle) {
  if (b_.initiators && handle != 0) b_.initiators->Withdraw(handle);
}

uint64_t DomainActions::Expect(DomainAction action, const v1::Domain& d,
                               bool shut_down, const std::string& caller,
                               absl::Duration within) {
  if (!b_.initiators) return 0;
  // A flag that leaves the state as it is (a shut-down domain paused) is
  // an UPDATED event.
  std::vector<v1::Transition> transitions;
  bool in_sequence = false;
  switch (action) {
    case DomainAction::kPause:
      transitions = {shut_down ? v1::TRANSITION_UPDATED
                               : v1::TRANSITION_PAUSED};
      break;
    case DomainAction::kUnpause:
      if (shut_down) {
        transitions = {v1::TRANSITION_UPDATED};
      } else {
        transitions = {v1::TRANSITION_UNPAUSED, v1::TRANSITION_STARTED};
      }
      break;
    case DomainAction::kShutdown:
      transitions = {v1::TRANSITION_SHUTDOWN, v1::TRANSITION_DYING,
                     v1::TRANSITION_DESTROYED};
      in_sequence = true;  // forced as far as a destroy
      break;
    case DomainAction::kDestroy:
      transitions = {v1::TRANSITION_DYING, v1::TRANSITION_DESTROYED};
      in_sequence = true;
      break;
  }
  return b_.initiators->Expect(d.domid(), d.uuid(), std::move(transitions),
                               caller, absl::Now() + within, in_sequence);
}

absl::Status DomainActions::Destroy(Domid domid, const std::string& uuid,
                                    bool dying, xen::XenstoreClient* xs) {
  // libxl__destroy_domid: pause (a failure does not stop it), the
  // domain's keys, then the destroy hypercall. Only these fixed paths of
  // this domain are ever removed.
  if (!dying) b_.hypervisor->PauseDomain(domid).IgnoreError();
  if (xs) {
    std::vector<std::string> paths;
    for (const char* kind : {"vif", "vbd", "qdisk", "console"}) {
      paths.push_back(
          absl::StrCat("/local/domain/0/backend/", kind, "/", domid));
    }
    if (!uuid.empty()) paths.push_back("/vm/" + uuid);
    paths.push_back(xen::DomainPath(domid));
    paths.push_back(absl::StrCat("/libxl/", domid));
    for (const std::string& path : paths) {
      absl::Status s = xs->Remove(path);
      if (!s.ok() && s.code() != absl::StatusCode::kNotFound) return s;
    }
  }
  return b_.hypervisor->DestroyDomain(domid);
}

std::vector<Domid> DomainActions::AwaitShutdown(
    std::vector<Domid> domids, absl::Time deadline,
    const std::function<bool()>& cancelled) {
  if (domids.empty()) return domids;
  // A subscription to these domains' events: each wakes the wait, which
  // then reads the newest snapshot.
  v1::DomainFilter filter;
  for (Domid d : domids) filter.add_domids(d);
  store::SubscriptionOptions options;
  options.filter = store::DomainFilter(filter);
  store::WatchBegin watch = b_.store->Watch({}, std::move(options));
  auto remaining = [&] {
    std::shared_ptr<const store::Snapshot> snapshot = b_.store->snapshot();
    std::vector<Domid> out;
    for (Domid d : domids) {
      store::DomainPtr domain = snapshot->domains.Get(d);
      if (domain && !domain->flags().shutdown() && !domain->flags().dying()) {
        out.push_back(d);
      }
    }
    return out;
  };
  for (;;) {
    while (watch.subscription->Pop()) {
    }
    domids = remaining();
    if (domids.empty() || absl::Now() >= deadline ||
        (cancelled && cancelled())) {
      break;
    }
    auto woken = std::make_shared<absl::Notification>();
    if (watch.subscription->WaitForEvents([woken] { woken->Notify(); })) {
      woken->WaitForNotificationWithDeadline(
          std::min(deadline, absl::Now() + kCancelCheck));
    }
  }
  b_.store->Unwatch(watch.subscription);
  return domids;
}

}  // namespace xenlet::agent

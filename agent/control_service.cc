#include "agent/control_service.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/grpc_status.h"
#include "agent/request_validation.h"
#include "agent/unary.h"
#include "common/log.h"

namespace xenlet::agent {
namespace {

// Who asked: the TLS identity the authorizer accepted, the unix caller's
// credentials, else the peer.
std::string Caller(const grpc::CallbackServerContext& context,
                   const PeerCredentials* peers) {
  if (auto peer = peers ? peers->Find(context.peer()) : std::nullopt) {
    return absl::StrCat("unix:uid=", peer->uid, ",gid=", peer->gid,
                        ",pid=", peer->pid);
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth && auth->IsPeerAuthenticated()) {
    for (const char* property :
         {"x509_common_name", "x509_subject_alternative_name"}) {
      for (const grpc::string_ref& v : auth->FindPropertyValues(property)) {
        return absl::StrCat("x509:", std::string(v.data(), v.size()));
      }
    }
  }
  return context.peer();
}

// CONTROL_OUTCOME_DONE -> "done", for audit lines and metric labels.
std::string OutcomeName(v1::ControlOutcome outcome) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(v1::ControlOutcome_Name(outcome), "CONTROL_OUTCOME_"));
}

// The selector as the caller wrote it, for the audit line.
std::string SelectorText(const v1::DomainSelector& s) {
  switch (s.selector_case()) {
    case v1::DomainSelector::kDomid:
      return s.expect_uuid().empty()
                 ? absl::StrCat("domid:", s.domid())
                 : absl::StrCat("domid:", s.domid(), "@", s.expect_uuid());
    case v1::DomainSelector::kUuid:
      return absl::StrCat("uuid:", s.uuid());
    case v1::DomainSelector::kName:
      return absl::StrCat("name:", s.name());
    case v1::DomainSelector::SELECTOR_NOT_SET:
      break;
  }
  return "none";
}

xen::ShutdownReason ReasonOf(v1::ShutdownMode mode) {
  switch (mode) {
    case v1::SHUTDOWN_MODE_REBOOT:
      return xen::ShutdownReason::kReboot;
    case v1::SHUTDOWN_MODE_SUSPEND:
      return xen::ShutdownReason::kSuspend;
    default:
      return xen::ShutdownReason::kPoweroff;
  }
}

}  // namespace

ControlServiceImpl::~ControlServiceImpl() {
  std::vector<Batch> batches;
  {
    absl::MutexLock lock(&mutex_);
    batches.swap(running_);
  }
  for (Batch& b : batches) b.thread.join();
}

template <typename Request>
grpc::ServerUnaryReactor* ControlServiceImpl::Handle(
    grpc::CallbackServerContext* context, const Request& request,
    absl::Status (*validate)(const Request&), const char* method,
    DomainAction action, ShutdownOptions shutdown,
    v1::ControlResponse* response) {
  // Authorisation first, so that an unauthorised caller learns nothing
  // about the host from validation messages.
  if (auto s = authorizer_.Authorize(*context); !s.ok()) {
    LogWarning("control_denied", {{"caller", Caller(*context, peers_)},
                                  {"method", method},
                                  {"reason", std::string(s.message())}});
    if (metrics_) metrics_->RecordDenied(method);
    return FinishUnary(context, ToGrpcStatus(s));
  }
  if (auto s = validate(request); !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  if (!available_) {
    return FinishUnary(context,
                       grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                    "this agent has no hypervisor to act on"));
  }
  RequestIds::Claim claim;
  if (!request.request_id().empty()) {
    auto reserved =
        request_ids_.Reserve(request.request_id(), method, absl::Now());
    if (!reserved.ok())
      return FinishUnary(context, ToGrpcStatus(reserved.status()));
    claim = std::move(*reserved);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The request and response live until Finish; the thread owns nothing
  // else of the call.
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto work = [this, context, reactor, &request, response, method, action,
               shutdown, done, claim] {
    const std::string caller = Caller(*context, peers_);
    if (claim.slot && !claim.first) {
      // A retry: the first call's answer, once it has one; nothing acts.
      // (A wait, not HasBeenNotified: only the wait orders this thread's
      // read of the response after the writer's.)
      bool answered = false;
      while (!(answered = claim.slot->done.WaitForNotificationWithTimeout(
                   absl::Milliseconds(100)))) {
        if (context->IsCancelled()) break;
      }
      if (answered) *response = claim.slot->response;
      LogInfo("audit_retry", {{"caller", caller},
                              {"method", method},
                              {"request_id", request.request_id()},
                              {"answered", answered}});
      reactor->Finish(answered
                          ? grpc::Status::OK
                          : grpc::Status(grpc::StatusCode::CANCELLED,
                                         "cancelled while the first call "
                                         "with this request_id was running"));
      *done = true;
      return;
    }
    std::vector<v1::ControlResult> results =
        actions_.Run(action, request.selectors(), caller, shutdown,
                     [context] { return context->IsCancelled(); });
    for (v1::ControlResult& r : results) {
      // One audit line per item: who, what, which domain, how it went.
      const bool resolved = !r.uuid().empty();
      LogInfo("audit", {{"caller", caller},
                        {"method", method},
                        {"request_id", request.request_id()},
                        {"selector", SelectorText(r.selector())},
                        {"domid", resolved ? absl::StrCat(r.domid()) : "-"},
                        {"uuid", r.uuid()},
                        {"outcome", OutcomeName(r.outcome())},
                        {"forced", r.forced()},
                        {"message", r.status().message()}});
      if (metrics_) {
        metrics_->RecordItem(method, OutcomeName(r.outcome()), r.forced());
      }
      *response->add_results() = std::move(r);
    }
    if (claim.slot) {
      claim.slot->response = *response;
      claim.slot->done.Notify();
    }
    reactor->Finish(grpc::Status::OK);
    *done = true;
  };
  absl::MutexLock lock(&mutex_);
  // Join the batches that are over, then start this one.
  std::erase_if(running_, [](Batch& b) {
    if (!*b.done) return false;
    b.thread.join();
    return true;
  });
  running_.push_back({std::thread(std::move(work)), done});
  return reactor;
}

grpc::ServerUnaryReactor* ControlServiceImpl::PauseDomains(
    grpc::CallbackServerContext* context,
    const v1::PauseDomainsRequest* request, v1::ControlResponse* response) {
  return Handle(context, *request, &ValidatePauseDomains, "PauseDomains",
                DomainAction::kPause, {}, response);
}

grpc::ServerUnaryReactor* ControlServiceImpl::UnpauseDomains(
    grpc::CallbackServerContext* context,
    const v1::UnpauseDomainsRequest* request, v1::ControlResponse* response) {
  return Handle(context, *request, &ValidateUnpauseDomains, "UnpauseDomains",
                DomainAction::kUnpause, {}, response);
}

grpc::ServerUnaryReactor* ControlServiceImpl::ShutdownDomains(
    grpc::CallbackServerContext* context,
    const v1::ShutdownDomainsRequest* request, v1::ControlResponse* response) {
  ShutdownOptions shutdown;
  shutdown.reason = ReasonOf(request->mode());
  if (request->has_timeout()) {
    shutdown.timeout = absl::Seconds(request->timeout().seconds()) +
                       absl::Nanoseconds(request->timeout().nanos());
  }
  shutdown.force = request->force();
  return Handle(context, *request, &ValidateShutdownDomains, "ShutdownDomains",
                DomainAction::kShutdown, shutdown, response);
}

grpc::ServerUnaryReactor* ControlServiceImpl::DestroyDomains(
    grpc::CallbackServerContext* context,
    const v1::DestroyDomainsRequest* request, v1::ControlResponse* response) {
  return Handle(context, *request, &ValidateDestroyDomains, "DestroyDomains",
                DomainAction::kDestroy, {}, response);
}

}  // namespace xenlet::agent

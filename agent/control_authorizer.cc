#include "agent/control_authorizer.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace xenlet::agent {

absl::Status ControlAuthorizer::Authorize(
    const grpc::CallbackServerContext& context) const {
  if (!policy_.enabled) {
    return absl::PermissionDeniedError(
        "control RPCs are disabled on this agent (start it with "
        "--enable-control)");
  }
  // A unix-socket caller: its uid or gid, if the policy names any.
  if (auto peer = peers_ ? peers_->Find(context.peer()) : std::nullopt) {
    const auto& uids = policy_.allowed_uids;
    const auto& gids = policy_.allowed_gids;
    if ((uids.empty() && gids.empty()) ||
        std::find(uids.begin(), uids.end(), peer->uid) != uids.end() ||
        std::find(gids.begin(), gids.end(), peer->gid) != gids.end()) {
      return absl::OkStatus();
    }
    return absl::PermissionDeniedError(
        absl::StrCat("uid ", peer->uid, " (gid ", peer->gid,
                     ") is not allowed control RPCs on the unix socket "
                     "(--control-uid/--control-gid)"));
  }
  if (absl::StartsWith(context.peer(), "unix:")) return absl::OkStatus();
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) {
    // No identity at all: UNAUTHENTICATED (a known one not on the list is
    // PERMISSION_DENIED below).
    return absl::UnauthenticatedError(
        "control RPCs over TCP need a TLS client certificate "
        "(--tls-cert/--tls-key in xenletctl)");
  }
  for (const char* property :
       {"x509_common_name", "x509_subject_alternative_name"}) {
    for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
      std::string identity(value.data(), value.size());
      if (std::find(policy_.allowed_clients.begin(),
                    policy_.allowed_clients.end(),
                    identity) != policy_.allowed_clients.end()) {
        return absl::OkStatus();
      }
    }
  }
  return absl::PermissionDeniedError(
      "the client certificate is not authorised for control RPCs "
      "(--control-client)");
}

}  // namespace xenlet::agent

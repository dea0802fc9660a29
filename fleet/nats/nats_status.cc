#include "fleet/nats/nats_status.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace xenlet::fleet::nats {

absl::StatusCode NatsStatusCode(natsStatus s) {
  switch (s) {
    case NATS_OK:
      return absl::StatusCode::kOk;
    case NATS_TIMEOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case NATS_CONNECTION_CLOSED:
    case NATS_NO_SERVER:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
    case NATS_NOT_YET_CONNECTED:
    case NATS_NO_RESPONDERS:
    case NATS_DRAINING:
    case NATS_MISSED_HEARTBEAT:
      return absl::StatusCode::kUnavailable;
    case NATS_NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_TIMEOUT:
    case NATS_ADDRESS_MISSING:
    case NATS_INVALID_QUEUE_NAME:
      return absl::StatusCode::kInvalidArgument;
    case NATS_CONNECTION_AUTH_FAILED:
      return absl::StatusCode::kUnauthenticated;
    case NATS_NOT_PERMITTED:
      return absl::StatusCode::kPermissionDenied;
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED:
    case NATS_SSL_ERROR:
    case NATS_ILLEGAL_STATE:
    case NATS_INVALID_SUBSCRIPTION:
      return absl::StatusCode::kFailedPrecondition;
    case NATS_MAX_PAYLOAD:
      return absl::StatusCode::kOutOfRange;
    case NATS_SLOW_CONSUMER:
    case NATS_INSUFFICIENT_BUFFER:
    case NATS_NO_MEMORY:
    case NATS_MAX_DELIVERED_MSGS:
      return absl::StatusCode::kResourceExhausted;
    case NATS_NO_SERVER_SUPPORT:
      return absl::StatusCode::kUnimplemented;
    case NATS_PROTOCOL_ERROR:
    case NATS_LINE_TOO_LONG:
    case NATS_MISMATCH:
    case NATS_SYS_ERROR:
    case NATS_FAILED_TO_INITIALIZE:
    case NATS_NOT_INITIALIZED:
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kUnknown;
  }
}

absl::StatusCode JsErrorCode(jsErrCode code) {
  switch (code) {
    case JSStreamNotFoundErr:
    case JSConsumerNotFoundErr:
    case JSNoMessageFoundErr:
    case JSSequenceNotFoundErr:
    case JSNoAccountErr:
    case JSStreamTemplateNotFoundErr:
      return absl::StatusCode::kNotFound;
    case JSStreamNameExistErr:
    case JSConsumerNameExistErr:
    case JSConsumerExistingActiveErr:
      return absl::StatusCode::kAlreadyExists;
    case JSStreamWrongLastSequenceErr:
    case JSStreamWrongLastMsgIDErr:
    case JSStreamNotMatchErr:
    case JSStreamSequenceNotMatchErr:
    case JSStreamSealedErr:
    case JSStreamReplicasNotSupportedErr:
    case JSStreamReplicasNotUpdatableErr:
    case JSStreamMirrorNotUpdatableErr:
    case JSStreamSubjectOverlapErr:
    case JSClusterRequiredErr:
    case JSNotEnabledErr:
    case JSNotEnabledForAccountErr:
      return absl::StatusCode::kFailedPrecondition;
    case JSClusterNotAvailErr:
    case JSClusterNotActiveErr:
    case JSClusterNotLeaderErr:
    case JSClusterNoPeersErr:
    case JSClusterIncompleteErr:
    case JSStreamOfflineErr:
    case JSConsumerOfflineErr:
      return absl::StatusCode::kUnavailable;
    case JSInsufficientResourcesErr:
    case JSAccountResourcesExceededErr:
    case JSMemoryResourcesExceededErr:
    case JSStorageResourcesExceededErr:
    case JSMaximumStreamsLimitErr:
    case JSMaximumConsumersLimitErr:
    case JSStreamLimitsErr:
    case JSStreamMaxStreamBytesExceededErr:
      return absl::StatusCode::kResourceExhausted;
    case JSStreamMessageExceedsMaximumErr:
      return absl::StatusCode::kOutOfRange;
    case JSBadRequestErr:
    case JSInvalidJSONErr:
    case JSStreamInvalidConfig:
    case JSStreamInvalidErr:
    case JSStreamMismatchErr:
    case JSConsumerFilterNotSubsetErr:
    case JSConsumerBadDurableNameErr:
    case JSConsumerInvalidPolicyErr:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kUnknown;
  }
}

absl::Status NatsError(natsStatus s, absl::string_view operation,
                       jsErrCode js_error, absl::string_view detail) {
  if (s == NATS_OK) return absl::OkStatus();
  // Read the thread's last error before anything else can replace it.
  natsStatus last_status = NATS_OK;
  const char* last_error = nats_GetLastError(&last_status);
  const char* status_text = natsStatus_GetText(s);

  // libnats reports "no responders" on a JetStream API call as
  // JSNotEnabledErr, a guess: the subject may just have no stream.
  if (s == NATS_NO_RESPONDERS) js_error = static_cast<jsErrCode>(0);

  std::string message = absl::StrCat("nats: ", operation, ": ", status_text);
  absl::string_view reason =
      last_status == s && last_error != nullptr ? last_error : "";
  // libnats starts it with where it was set: "(jsm.c:1033): ".
  if (absl::StartsWith(reason, "(")) {
    size_t end = reason.find("): ");
    if (end != absl::string_view::npos) reason.remove_prefix(end + 3);
  }
  if (!reason.empty() && reason != status_text) {
    absl::StrAppend(&message, ": ", reason);
  }
  if (js_error != 0) {
    absl::StrAppend(&message, " [jsErrCode ", static_cast<int>(js_error), "]");
  }
  if (!detail.empty()) absl::StrAppend(&message, " (", detail, ")");

  absl::StatusCode code = JsErrorCode(js_error);
  if (code == absl::StatusCode::kUnknown) code = NatsStatusCode(s);
  return absl::Status(code, message);
}

}  // namespace xenlet::fleet::nats

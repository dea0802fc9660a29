// libnats's status codes as absl::Status: one place that maps a natsStatus
// (and, for JetStream API calls, the server's jsErrCode) to a canonical code
// and writes a message that says which operation failed and why:
//
//   nats: js_Publish to xenlet.events.h1: timeout (no JetStream answer in 5s)
//   nats: js_AddStream XENLET_EVENTS: error: subjects overlap with an
//         existing stream [jsErrCode 10065]
//
// The libnats text (natsStatus_GetText) comes first, then the thread's last
// error (nats_GetLastError) when it says more, e.g. the server's
// description of a JetStream API error or OpenSSL's reason for a failed
// handshake.
#ifndef XENLET_FLEET_NATS_NATS_STATUS_H_
#define XENLET_FLEET_NATS_NATS_STATUS_H_

#include <nats/nats.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace xenlet::fleet::nats {

// The canonical code of a libnats status alone:
//   NATS_OK                                  -> OK
//   NATS_TIMEOUT                             -> DEADLINE_EXCEEDED
//   NATS_CONNECTION_CLOSED, NATS_NO_SERVER, NATS_CONNECTION_DISCONNECTED,
//   NATS_STALE_CONNECTION, NATS_IO_ERROR, NATS_NOT_YET_CONNECTED,
//   NATS_NO_RESPONDERS, NATS_DRAINING,
//   NATS_MISSED_HEARTBEAT                    -> UNAVAILABLE
//   NATS_NOT_FOUND                           -> NOT_FOUND
//   NATS_INVALID_ARG, NATS_INVALID_SUBJECT, NATS_INVALID_TIMEOUT,
//   NATS_ADDRESS_MISSING, NATS_INVALID_QUEUE_NAME -> INVALID_ARGUMENT
//   NATS_CONNECTION_AUTH_FAILED              -> UNAUTHENTICATED
//   NATS_NOT_PERMITTED                       -> PERMISSION_DENIED
//   NATS_SECURE_CONNECTION_WANTED/_REQUIRED,
//   NATS_SSL_ERROR                           -> FAILED_PRECONDITION
//   NATS_MAX_PAYLOAD                         -> OUT_OF_RANGE
//   NATS_SLOW_CONSUMER, NATS_INSUFFICIENT_BUFFER,
//   NATS_NO_MEMORY, NATS_MAX_DELIVERED_MSGS  -> RESOURCE_EXHAUSTED
//   NATS_ILLEGAL_STATE, NATS_INVALID_SUBSCRIPTION -> FAILED_PRECONDITION
//   NATS_NO_SERVER_SUPPORT                   -> UNIMPLEMENTED
//   NATS_PROTOCOL_ERROR, NATS_LINE_TOO_LONG, NATS_MISMATCH,
//   NATS_SYS_ERROR, NATS_FAILED_TO_INITIALIZE,
//   NATS_NOT_INITIALIZED                     -> INTERNAL
//   anything else (NATS_ERR, ...)            -> UNKNOWN
absl::StatusCode NatsStatusCode(natsStatus s);

// The canonical code of a JetStream API error, or UNKNOWN for a code this
// layer does not map (the natsStatus then decides). E.g. JSStreamNotFoundErr
// -> NOT_FOUND, JSStreamNameExistErr -> ALREADY_EXISTS,
// JSStreamWrongLastSequenceErr -> FAILED_PRECONDITION,
// JSClusterNotAvailErr -> UNAVAILABLE, JSInsufficientResourcesErr ->
// RESOURCE_EXHAUSTED, JSStreamInvalidConfig -> INVALID_ARGUMENT.
absl::StatusCode JsErrorCode(jsErrCode code);

// OK for NATS_OK; otherwise
//   "nats: <operation>: <natsStatus text>[: <last error>][ [jsErrCode N]]
//    [ (<detail>)]"
// with the code from `js_error` when it maps to one, else from `s`. Call it
// right after the failing libnats call, on the same thread: the last error
// is thread-local and the next libnats call may clear it.
absl::Status NatsError(natsStatus s, absl::string_view operation,
                       jsErrCode js_error = static_cast<jsErrCode>(0),
                       absl::string_view detail = "");

}  // namespace xenlet::fleet::nats

#endif  // XENLET_FLEET_NATS_NATS_STATUS_H_

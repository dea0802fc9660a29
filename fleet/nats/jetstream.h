// JetStream streams over a Connection: make sure a stream exists as
// configured, publish into it with a message id (deduplicated by the
// server within the stream's duplicates window), and read back what it
// holds (for checkers and tests).
//
// Publishing while libnats is reconnecting fails at once with UNAVAILABLE.
// libnats itself would queue the message in its reconnect buffer and send
// it after the reconnect, long after the call had timed out; a caller that
// then retried would rely on the duplicates window to drop the second copy.
// A publish in flight when the connection drops fails at once too
// (UNAVAILABLE), but the server may have stored it: retry it with the same
// message id and the server reports duplicate=true.
#ifndef XENLET_FLEET_NATS_JETSTREAM_H_
#define XENLET_FLEET_NATS_JETSTREAM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fleet/nats/connection.h"

namespace xenlet::fleet::nats {

struct StreamConfig {
  std::string name;                   // e.g. "XENLET_EVENTS"
  std::vector<std::string> subjects;  // e.g. {"xenlet.events.>"}
  int replicas = 1;                   // 1, or 3 in a cluster
  // A message id seen again within this window is not stored again.
  // Zero: the server's default (2 minutes).
  absl::Duration duplicates_window = absl::ZeroDuration();
  // Messages older than this are removed. Zero: kept forever.
  absl::Duration max_age = absl::ZeroDuration();
  // The oldest messages are removed above this size. -1: no limit.
  int64_t max_bytes = -1;
};

enum class StreamChange { kCreated, kUpdated, kUnchanged };
absl::string_view StreamChangeName(StreamChange change);

// Creates the stream, or updates it if it exists with another
// configuration (of the fields above), and says which. Updates the server
// refuses (e.g. replicas on a single server) fail with its reason.
absl::StatusOr<StreamChange> EnsureStream(Connection& conn,
                                          const StreamConfig& config);

struct PublishAck {
  std::string stream;
  uint64_t sequence = 0;
  // The server had a message with this id within the duplicates window and
  // did not store this one; `sequence` is then the original's.
  bool duplicate = false;
};

// Publishes `payload` to `subject` with the Nats-Msg-Id header `msg_id`
// (none if empty) and waits up to `max_wait` for the stream's
// acknowledgement (zero: the connection's jetstream_timeout). Errors:
// UNAVAILABLE when not connected, or when no stream answered (no
// responders: no stream takes the subject, or, in a cluster, the stream
// has no leader for a few seconds after losing one); DEADLINE_EXCEEDED when the
// acknowledgement did not come (the message may or may not have been stored:
// retry with the same id).
absl::StatusOr<PublishAck> Publish(Connection& conn, const std::string& subject,
                                   const std::string& msg_id,
                                   absl::string_view payload,
                                   absl::Duration max_wait);

struct StreamState {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  // In a cluster: the server (its server_name) that leads the stream now,
  // "" while there is none; "" on a single server.
  std::string leader;
};
absl::StatusOr<StreamState> GetStreamState(Connection& conn,
                                           const std::string& stream);

struct StoredMessage {
  uint64_t sequence = 0;
  std::string subject;
  std::string msg_id;  // the Nats-Msg-Id header, "" if none
  std::string data;
  absl::Time time;  // when the stream stored it
};

// The newest message the stream holds on `subject` (wildcards allowed), or
// nullopt if it holds none; NOT_FOUND if the stream does not exist. One
// request to the stream's leader (js_GetLastMsg): during a leader election
// it fails like a publish (UNAVAILABLE, no responders).
absl::StatusOr<std::optional<StoredMessage>> LastMessage(
    Connection& conn, const std::string& stream, const std::string& subject);

// Every message the stream holds now on subjects matching `subject_filter`
// (a subject of the stream, wildcards allowed; e.g. "xenlet.events.h1" or
// "xenlet.events.>"), in sequence order, through an ordered consumer
// (ephemeral, no acks) that is deleted afterwards. Messages stored while
// it reads may or may not be included. Fails with RESOURCE_EXHAUSTED
// rather than return more than `max_messages`, and with DEADLINE_EXCEEDED
// if the server stops delivering for the connection's jetstream_timeout.
absl::StatusOr<std::vector<StoredMessage>> ReadAll(
    Connection& conn, const std::string& stream,
    const std::string& subject_filter, size_t max_messages = 100000);

}  // namespace xenlet::fleet::nats

#endif  // XENLET_FLEET_NATS_JETSTREAM_H_

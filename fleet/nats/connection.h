// A connection to NATS (libnats 3.4) with its JetStream context: the one
// object the fleet view's publisher and reader share.
//
//   ConnectionOptions options;
//   options.servers = SplitServerList(getenv("NATS_URL") ?: "");
//   options.name = "xenlet-publish h1";
//   auto conn = Connection::Open(options);
//
// Open makes one attempt at once; a refused login or a TLS failure fails
// it with its reason. When no server answers and retry_on_failed_connect
// is set, it returns a connection that is not connected yet, which libnats
// keeps trying in the background.
//
// Reconnects are libnats's: on a lost connection it tries every server of
// the list (and those the cluster announced) again and again, waiting
// reconnect_wait between rounds, max_reconnects rounds (-1: forever), then
// closes the connection for good. While it reconnects, this layer's
// JetStream calls fail at once with UNAVAILABLE rather than let libnats
// queue them for later (see jetstream.h).
//
// connected() and the counters follow libnats's connection callbacks
// (connected, disconnected, reconnected, closed) and its asynchronous
// errors, which libnats runs one at a time on a thread of its own, shortly
// after the fact. Thread-safe.
#ifndef XENLET_FLEET_NATS_CONNECTION_H_
#define XENLET_FLEET_NATS_CONNECTION_H_

#include <nats/nats.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fleet/nats/nats_ptr.h"

namespace xenlet::fleet::nats {

struct ConnectionOptions {
  // Server URLs: nats://host:port, or tls://host:port for TLS. Empty:
  // nats://127.0.0.1:4222. Reading NATS_URL is the caller's business
  // (SplitServerList turns it into this list).
  std::vector<std::string> servers;
  // Sent to the server: shows in its connection list (`nats server report
  // connections`, /connz).
  std::string name;

  // Authentication, at most one way: user and password, a token, a
  // credentials file (user JWT and seed, NATS's decentralised auth), or an
  // NKey (its public key "U..." and the file with its seed "SU...").
  std::string user;
  std::string password;
  std::string token;
  std::string creds_file;
  std::string nkey;
  std::string nkey_seed_file;

  // TLS: any of these, or a tls:// URL, makes the connection TLS (and
  // libnats switches to TLS by itself for a server that requires it).
  // tls_ca is the PEM file of the CAs that the server's certificate must
  // chain to (without it, OpenSSL's default trust store); the certificate
  // must also name the URL's host (an IP SAN for an address). tls_cert and
  // tls_key are this client's certificate chain and key, for a server that
  // verifies clients.
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;

  // One (re)connect attempt to one server: TCP connect, TLS, INFO/CONNECT.
  absl::Duration connect_timeout = absl::Seconds(2);
  // Between two attempts to the same server.
  absl::Duration reconnect_wait = absl::Seconds(2);
  // Rounds of reconnect attempts after a loss before libnats gives up and
  // closes the connection; -1: forever.
  int max_reconnects = -1;
  // Keep trying in the background when no server answers at Open, instead
  // of failing Open.
  bool retry_on_failed_connect = true;
  // How often the client pings the server, and thus how soon a silent
  // server (a partition, not a closed socket) is noticed: after 2 pings
  // without an answer.
  absl::Duration ping_interval = absl::Minutes(2);
  // How long a JetStream API call (stream and bucket management, a
  // publish's acknowledgement unless it says otherwise) waits for the
  // server's answer.
  absl::Duration jetstream_timeout = absl::Seconds(5);

  // Called with true when the connection is (re)established and false when
  // it is lost or closed, on libnats's callback thread, one call at a
  // time. It must return quickly (it holds up every connection's
  // callbacks) and must not destroy the Connection. Not called for the
  // Connection's own close in its destructor.
  std::function<void(bool connected)> on_connection_change;
  // Called, on the same thread and with the same rules, for the errors
  // libnats reports on its own, outside any call: e.g. a key-value
  // watcher's "Missed Server Heartbeat" (NATS_MISSED_HEARTBEAT) or "error
  // recreating ordered consumer" after a reconnect, a slow consumer, a
  // refused reconnect ("Authorization Violation").
  std::function<void(const absl::Status& error)> on_async_error;
};

// "nats://a:4222, tls://b:4222" -> {"nats://a:4222", "tls://b:4222"}: the
// NATS convention for NATS_URL and --server flags (commas, spaces ignored).
std::vector<std::string> SplitServerList(absl::string_view comma_separated);

class Connection {
 public:
  // Connects. When no server answers (UNAVAILABLE) and
  // options.retry_on_failed_connect, returns a connection that is not
  // connected yet (connected() false) and that libnats keeps trying in the
  // background. Otherwise fails with the reason: UNAVAILABLE (no server),
  // UNAUTHENTICATED (a refused login), FAILED_PRECONDITION (TLS: an
  // unknown CA, TLS on one side only), INVALID_ARGUMENT (options libnats
  // rejects), FAILED_PRECONDITION for an unreadable CA or certificate file.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const ConnectionOptions& options);

  // Closes the connection and waits (up to 10 s) until libnats has run its
  // last callback for it: no listener call is under way once it returns.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // As libnats last reported through its callbacks: right after a loss it
  // may still say true for a moment (ConnectedNow() is immediate).
  bool connected() const;
  // True once libnats has given up (max_reconnects reached): the
  // connection will not come back; open a new one.
  bool closed() const;
  // Times the connection was lost, and re-established after a loss.
  uint64_t disconnects() const;
  uint64_t reconnects() const;
  // Asynchronous errors so far (see on_async_error) and the last one (OK
  // if none).
  uint64_t async_errors() const;
  absl::Status LastAsyncError() const;

  // Blocks until connected() (true) or the timeout passes or the
  // connection is closed (false). Returns at once while connected() still
  // says true after a loss that its callback has not reported yet.
  bool WaitUntilConnected(absl::Duration timeout) const;

  // libnats's own view, at once: connected now (not reconnecting, closed or
  // not yet connected).
  bool ConnectedNow() const;
  // The URL of the server it is connected to, or "" when it is not.
  std::string ConnectedUrl() const;
  // libnats's last error on this connection (e.g. why a reconnect attempt
  // failed), or OK.
  absl::Status LastError() const;

  const ConnectionOptions& options() const { return options_; }
  // For this layer's JetStream and key-value calls; valid as long as this
  // object is.
  natsConnection* nats_connection() const { return nc_.get(); }
  jsCtx* jetstream() const { return js_.get(); }

 private:
  // What libnats's callbacks update, shared with the callback thread.
  struct Events;
  // Where the callbacks find it (their closure is its address).
  class Registry;

  explicit Connection(const ConnectionOptions& options);

  // The natsOptions for `options` (retrying a failed first connect in the
  // background if `retry`), with `closure` for the callbacks below.
  static absl::StatusOr<OptionsPtr> MakeOptions(
      const ConnectionOptions& options, bool retry, void* closure);

  static void OnConnected(natsConnection* nc, void* closure);
  static void OnDisconnected(natsConnection* nc, void* closure);
  static void OnReconnected(natsConnection* nc, void* closure);
  static void OnClosed(natsConnection* nc, void* closure);
  static void OnAsyncError(natsConnection* nc, natsSubscription* sub,
                           natsStatus error, void* closure);

  const ConnectionOptions options_;
  std::shared_ptr<Events> events_;
  ConnectionPtr nc_;
  JsCtxPtr js_;
};

}  // namespace xenlet::fleet::nats

#endif  // XENLET_FLEET_NATS_CONNECTION_H_

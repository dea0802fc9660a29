#include "fleet/nats/connection.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fleet/nats/nats_status.h"

namespace xenlet::fleet::nats {

struct Connection::Events {
  Events(std::function<void(bool)> listener,
         std::function<void(const absl::Status&)> error_listener)
      : listener(std::move(listener)),
        error_listener(std::move(error_listener)) {}

  // Records a change of state and tells the listener (outside the lock;
  // libnats runs the callbacks one at a time, so calls stay in order).
  void Report(bool up, bool lost, bool regained, bool is_closed)
      ABSL_LOCKS_EXCLUDED(mu) {
    bool tell;
    {
      absl::MutexLock lock(&mu);
      connected = up;
      if (lost) ++disconnects;
      if (regained) ++reconnects;
      if (is_closed) closed = true;
      tell = !closing && listener != nullptr;
    }
    if (tell) listener(up);
  }

  void ReportError(const absl::Status& error) ABSL_LOCKS_EXCLUDED(mu) {
    bool tell;
    {
      absl::MutexLock lock(&mu);
      ++async_errors;
      last_async_error = error;
      tell = !closing && error_listener != nullptr;
    }
    if (tell) error_listener(error);
  }

  bool ConnectedOrClosed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return connected || closed;
  }
  bool Closed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return closed; }

  const std::function<void(bool)> listener;
  const std::function<void(const absl::Status&)> error_listener;
  mutable absl::Mutex mu;
  bool connected ABSL_GUARDED_BY(mu) = false;
  bool closed ABSL_GUARDED_BY(mu) = false;
  // Set by the destructor before it closes the connection.
  bool closing ABSL_GUARDED_BY(mu) = false;
  uint64_t disconnects ABSL_GUARDED_BY(mu) = 0;
  uint64_t reconnects ABSL_GUARDED_BY(mu) = 0;
  uint64_t async_errors ABSL_GUARDED_BY(mu) = 0;
  absl::Status last_async_error ABSL_GUARDED_BY(mu);
};

// The Events of every live Connection, by address: what libnats's callbacks
// get as their closure. libnats may run a callback for a connection after
// the Connection is gone (an error posted by a timer while it closed); the
// callback then finds nothing here instead of a freed object.
class Connection::Registry {
 public:
  static Registry& Get() {
    static Registry* const registry = new Registry();  // never destroyed
    return *registry;
  }
  void Add(const std::shared_ptr<Events>& events) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    events_[events.get()] = events;
  }
  void Remove(const Events* events) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    events_.erase(events);
  }
  // The Events behind a closure, kept alive while the caller holds it.
  std::shared_ptr<Events> Find(void* closure) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = events_.find(closure);
    return it == events_.end() ? nullptr : it->second.lock();
  }

 private:
  absl::Mutex mu_;
  std::map<const void*, std::weak_ptr<Events>> events_ ABSL_GUARDED_BY(mu_);
};

namespace {

int64_t Millis(absl::Duration d) {
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(d));
}

bool IsTlsUrl(absl::string_view url) {
  return absl::StartsWithIgnoreCase(absl::StripAsciiWhitespace(url), "tls://");
}

}  // namespace

absl::StatusOr<OptionsPtr> Connection::MakeOptions(const ConnectionOptions& o,
                                                   bool retry, void* closure) {
  natsOptions* raw = nullptr;
  natsStatus s = natsOptions_Create(&raw);
  if (s != NATS_OK) return NatsError(s, "natsOptions_Create");
  OptionsPtr opts(raw);

  std::vector<std::string> servers = o.servers;
  if (servers.empty()) servers.push_back(NATS_DEFAULT_URL);
  std::vector<const char*> urls;
  for (const std::string& url : servers) urls.push_back(url.c_str());
  s = natsOptions_SetServers(opts.get(), urls.data(),
                             static_cast<int>(urls.size()));
  if (s != NATS_OK) {
    return NatsError(s, absl::StrCat("servers ", absl::StrJoin(servers, ",")));
  }
  if (!o.name.empty()) {
    s = natsOptions_SetName(opts.get(), o.name.c_str());
    if (s != NATS_OK) return NatsError(s, "natsOptions_SetName");
  }

  int auth_ways = (!o.user.empty() ? 1 : 0) + (!o.token.empty() ? 1 : 0) +
                  (!o.creds_file.empty() ? 1 : 0) +
                  (!o.nkey_seed_file.empty() ? 1 : 0);
  if (auth_ways > 1) {
    return absl::InvalidArgumentError(
        "nats: more than one way to authenticate (user, token, creds_file, "
        "nkey_seed_file): choose one");
  }
  if (!o.user.empty()) {
    s = natsOptions_SetUserInfo(opts.get(), o.user.c_str(), o.password.c_str());
    if (s != NATS_OK) return NatsError(s, "natsOptions_SetUserInfo");
  }
  if (!o.token.empty()) {
    s = natsOptions_SetToken(opts.get(), o.token.c_str());
    if (s != NATS_OK) return NatsError(s, "natsOptions_SetToken");
  }
  if (!o.creds_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(opts.get(),
                                                o.creds_file.c_str(), nullptr);
    if (s != NATS_OK) {
      return NatsError(s, absl::StrCat("credentials file ", o.creds_file));
    }
  }
  if (!o.nkey_seed_file.empty()) {
    if (o.nkey.empty()) {
      return absl::InvalidArgumentError(
          "nats: nkey_seed_file needs nkey, the user's public NKey (U...)");
    }
    s = natsOptions_SetNKeyFromSeed(opts.get(), o.nkey.c_str(),
                                    o.nkey_seed_file.c_str());
    if (s != NATS_OK) {
      return NatsError(s, absl::StrCat("NKey seed file ", o.nkey_seed_file));
    }
  }

  bool tls = o.tls || !o.tls_ca.empty() || !o.tls_cert.empty();
  for (const std::string& url : servers) tls = tls || IsTlsUrl(url);
  if (tls) {
    s = natsOptions_SetSecure(opts.get(), true);
    if (s != NATS_OK) return NatsError(s, "natsOptions_SetSecure");
  }
  if (!o.tls_ca.empty()) {
    s = natsOptions_LoadCATrustedCertificates(opts.get(), o.tls_ca.c_str());
    if (s != NATS_OK) return NatsError(s, absl::StrCat("TLS CA ", o.tls_ca));
  }
  if (!o.tls_cert.empty() || !o.tls_key.empty()) {
    if (o.tls_cert.empty() || o.tls_key.empty()) {
      return absl::InvalidArgumentError(
          "nats: tls_cert and tls_key go together");
    }
    s = natsOptions_LoadCertificatesChain(opts.get(), o.tls_cert.c_str(),
                                          o.tls_key.c_str());
    if (s != NATS_OK) {
      return NatsError(s, absl::StrCat("TLS certificate ", o.tls_cert,
                                       " and key ", o.tls_key));
    }
  }

  s = natsOptions_SetTimeout(opts.get(), Millis(o.connect_timeout));
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectWait(opts.get(), Millis(o.reconnect_wait));
  }
  if (s == NATS_OK) {
    s = natsOptions_SetMaxReconnect(opts.get(), o.max_reconnects);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetPingInterval(opts.get(), Millis(o.ping_interval));
  }
  // A request (a JetStream API call, a publish waiting for its ack) in
  // flight when the connection drops fails at once rather than at its
  // timeout.
  if (s == NATS_OK)
    s = natsOptions_SetFailRequestsOnDisconnect(opts.get(), true);
  if (s == NATS_OK) {
    s = natsOptions_SetDisconnectedCB(opts.get(), &Connection::OnDisconnected,
                                      closure);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectedCB(opts.get(), &Connection::OnReconnected,
                                     closure);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetClosedCB(opts.get(), &Connection::OnClosed, closure);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetErrorHandler(opts.get(), &Connection::OnAsyncError,
                                    closure);
  }
  // With a connected callback, a failed first connect returns
  // NATS_NOT_YET_CONNECTED and libnats retries in the background; without
  // one it would block here for all of max_reconnects.
  if (s == NATS_OK && retry) {
    s = natsOptions_SetRetryOnFailedConnect(opts.get(), true,
                                            &Connection::OnConnected, closure);
  }
  if (s != NATS_OK) return NatsError(s, "natsOptions");
  return opts;
}

std::vector<std::string> SplitServerList(absl::string_view comma_separated) {
  std::vector<std::string> servers;
  for (absl::string_view url : absl::StrSplit(comma_separated, ',')) {
    url = absl::StripAsciiWhitespace(url);
    if (!url.empty()) servers.emplace_back(url);
  }
  return servers;
}

Connection::Connection(const ConnectionOptions& options)
    : options_(options),
      events_(std::make_shared<Events>(options.on_connection_change,
                                       options.on_async_error)) {
  Registry::Get().Add(events_);
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const ConnectionOptions& options) {
  auto conn = absl::WrapUnique(new Connection(options));
  void* closure = conn->events_.get();
  absl::StatusOr<OptionsPtr> opts =
      MakeOptions(options, /*retry=*/false, closure);
  if (!opts.ok()) return opts.status();

  // One attempt first, so that what retrying cannot cure (a refused login,
  // TLS) fails here with its reason: in libnats's background retry it
  // would close the connection as "no server available".
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_Connect(&nc, opts->get());
  if (options.retry_on_failed_connect &&
      (s == NATS_NO_SERVER || s == NATS_TIMEOUT || s == NATS_IO_ERROR)) {
    // No server answered: try again, then in the background.
    opts = MakeOptions(options, /*retry=*/true, closure);
    if (!opts.ok()) return opts.status();
    s = natsConnection_Connect(&nc, opts->get());
  }
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    // A failed connect runs no callbacks and returns no connection.
    std::vector<std::string> servers = options.servers;
    if (servers.empty()) servers.push_back(NATS_DEFAULT_URL);
    // A TLS 1.3 server that wants a client certificate closes the
    // connection after the handshake; libnats sees no PONG.
    absl::string_view hint =
        s == NATS_PROTOCOL_ERROR && options.tls_cert.empty()
            ? "a TLS server that wants a client certificate (tls_cert, "
              "tls_key) closes the connection like this"
            : "";
    return NatsError(s,
                     absl::StrCat("connect to ", absl::StrJoin(servers, ",")),
                     static_cast<jsErrCode>(0), hint);
  }
  conn->nc_.reset(nc);
  if (s == NATS_OK) {
    // Connected in the call itself: libnats runs no connected callback.
    absl::MutexLock lock(&conn->events_->mu);
    conn->events_->connected = true;
  }

  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = Millis(options.jetstream_timeout);
  jsCtx* js = nullptr;
  s = natsConnection_JetStream(&js, nc, &js_options);
  if (s != NATS_OK) return NatsError(s, "natsConnection_JetStream");
  conn->js_.reset(js);
  return conn;
}

Connection::~Connection() {
  js_.reset();  // before its connection, as libnats asks
  if (nc_ != nullptr) {
    {
      absl::MutexLock lock(&events_->mu);
      events_->closing = true;
    }
    natsConnection_Close(nc_.get());
    // Closing posts the closed callback, the last of the connection's
    // callbacks (libnats runs them in order on one thread): once it has
    // run, no listener call is still under way.
    absl::MutexLock lock(&events_->mu);
    events_->mu.AwaitWithTimeout(
        absl::Condition(events_.get(), &Events::Closed), absl::Seconds(10));
  }
  Registry::Get().Remove(events_.get());
  nc_.reset();
}

void Connection::OnConnected(natsConnection*, void* closure) {
  if (auto events = Registry::Get().Find(closure)) {
    events->Report(/*up=*/true, /*lost=*/false, /*regained=*/false,
                   /*is_closed=*/false);
  }
}

void Connection::OnDisconnected(natsConnection*, void* closure) {
  if (auto events = Registry::Get().Find(closure)) {
    events->Report(/*up=*/false, /*lost=*/true, /*regained=*/false,
                   /*is_closed=*/false);
  }
}

void Connection::OnReconnected(natsConnection*, void* closure) {
  if (auto events = Registry::Get().Find(closure)) {
    events->Report(/*up=*/true, /*lost=*/false, /*regained=*/true,
                   /*is_closed=*/false);
  }
}

void Connection::OnClosed(natsConnection*, void* closure) {
  if (auto events = Registry::Get().Find(closure)) {
    events->Report(/*up=*/false, /*lost=*/false, /*regained=*/false,
                   /*is_closed=*/true);
  }
}

void Connection::OnAsyncError(natsConnection*, natsSubscription*,
                              natsStatus error, void* closure) {
  // libnats has made the error's text (if any) this thread's last error,
  // which NatsError reads. The subscription may be gone: not touched.
  absl::Status status = NatsError(error, "asynchronous error");
  if (auto events = Registry::Get().Find(closure)) events->ReportError(status);
}

bool Connection::connected() const {
  absl::MutexLock lock(&events_->mu);
  return events_->connected;
}

bool Connection::closed() const {
  absl::MutexLock lock(&events_->mu);
  return events_->closed;
}

uint64_t Connection::disconnects() const {
  absl::MutexLock lock(&events_->mu);
  return events_->disconnects;
}

uint64_t Connection::reconnects() const {
  absl::MutexLock lock(&events_->mu);
  return events_->reconnects;
}

uint64_t Connection::async_errors() const {
  absl::MutexLock lock(&events_->mu);
  return events_->async_errors;
}

absl::Status Connection::LastAsyncError() const {
  absl::MutexLock lock(&events_->mu);
  return events_->last_async_error;
}

bool Connection::WaitUntilConnected(absl::Duration timeout) const {
  absl::MutexLock lock(&events_->mu);
  events_->mu.AwaitWithTimeout(
      absl::Condition(events_.get(), &Events::ConnectedOrClosed), timeout);
  return events_->connected;
}

bool Connection::ConnectedNow() const {
  return natsConnection_Status(nc_.get()) == NATS_CONN_STATUS_CONNECTED;
}

std::string Connection::ConnectedUrl() const {
  char url[512] = "";
  if (natsConnection_GetConnectedUrl(nc_.get(), url, sizeof(url)) != NATS_OK) {
    return "";
  }
  return url;
}

absl::Status Connection::LastError() const {
  const char* text = nullptr;
  natsStatus s = natsConnection_GetLastError(nc_.get(), &text);
  if (s == NATS_OK) return absl::OkStatus();
  absl::string_view status_text = natsStatus_GetText(s);
  absl::string_view detail = text != nullptr ? text : "";
  return absl::Status(
      NatsStatusCode(s),
      absl::StrCat("nats: last error of the connection: ", status_text,
                   detail.empty() || detail == status_text ? "" : ": ",
                   detail == status_text ? "" : detail));
}

}  // namespace xenlet::fleet::nats

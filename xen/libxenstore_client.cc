#include "xen/libxenstore_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "xen/errno_status.h"

extern "C" {
#include <xen/io/xs_wire.h>
#include <xenstore.h>
}

namespace xenlet::xen {
namespace {

// libxenstore takes its socket path only from the environment; opening is
// serialised so that concurrent opens with different paths do not mix.
ABSL_CONST_INIT absl::Mutex open_mutex(absl::kConstInit);

xs_handle* OpenHandle(const std::string& socket_path) {
  absl::MutexLock lock(&open_mutex);
  if (socket_path.empty()) return xs_open(0);
  const char* old = std::getenv("XENSTORED_PATH");
  std::string saved = old ? old : "";
  setenv("XENSTORED_PATH", socket_path.c_str(), 1);
  xs_handle* handle = xs_open(0);
  int err = errno;
  if (old) {
    setenv("XENSTORED_PATH", saved.c_str(), 1);
  } else {
    unsetenv("XENSTORED_PATH");
  }
  errno = err;
  return handle;
}

// The socket libxenstore connects to for socket_path ("": its default,
// which it reads from the environment that OpenHandle changes).
std::string DaemonSocket(const std::string& socket_path) {
  if (!socket_path.empty()) return socket_path;
  absl::MutexLock lock(&open_mutex);
  return xs_daemon_socket();
}

enum class Liveness { kAnswers, kSilent, kUnreachable };

// Whether xenstored at path accepts a connection and answers a request
// (XS_GET_DOMAIN_PATH, which needs nothing but a live daemon) within
// timeout, on a connection of its own. libxenstore's own connect() has no
// bound: to a xenstored that stopped, once its listen backlog is full, it
// would block for good. Asked first, this connection is accepted and
// answered by a live xenstored, which leaves its backlog empty for
// libxenstore's connection; a stopped one leaves it waiting only this long.
Liveness AskDaemon(const std::string& path, absl::Duration timeout) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Liveness::kUnreachable;
  timeval tv = absl::ToTimeval(timeout);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  Liveness out = Liveness::kUnreachable;
  if (path.size() < sizeof(addr.sun_path) &&
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0) {
    std::memcpy(addr.sun_path, path.data(), path.size());
    // A unix socket's connect() waits for backlog room up to SO_SNDTIMEO.
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      out = errno == EAGAIN || errno == EINPROGRESS ? Liveness::kSilent
                                                    : Liveness::kUnreachable;
    } else {
      struct {
        xsd_sockmsg header;
        char body[2];
      } request{{XS_GET_DOMAIN_PATH, 0, 0, 2}, {'0', '\0'}};
      xsd_sockmsg reply;
      out = Liveness::kSilent;
      if (send(fd, &request, sizeof(request), MSG_NOSIGNAL) ==
              static_cast<ssize_t>(sizeof(request)) &&
          recv(fd, &reply, sizeof(reply), MSG_WAITALL) ==
              static_cast<ssize_t>(sizeof(reply))) {
        out = Liveness::kAnswers;
      }
    }
  }
  close(fd);
  return out;
}

// libxenstore does not expose its connection's descriptor (xs_fileno is
// the watch pipe), and every libxenstore since Xen 3.0 keeps it as the
// first member of struct xs_handle. It is taken from there only once it is
// checked to be a unix socket connected to the path just opened, so another
// layout disables the request bound rather than touching a descriptor that
// is not the connection. -1 if the check fails (or on the xenbus device).
int ConnectionSocket(xs_handle* handle, const std::string& path) {
  const int fd = *reinterpret_cast<const int*>(handle);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return -1;
  sockaddr_un peer{};
  socklen_t len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
      peer.sun_family != AF_UNIX) {
    return -1;
  }
  const size_t path_len = len - offsetof(sockaddr_un, sun_path);
  std::string peer_path(peer.sun_path, strnlen(peer.sun_path, path_len));
  return peer_path == path ? fd : -1;
}

// Bounds every read and write on the connection. A read that times out
// fails in libxenstore: without watches the request itself gets EAGAIN;
// with watches the reader thread's read fails, it closes the connection and
// the request gets EINVAL. Either way libxenstore closes the connection.
bool BoundRequests(int fd, absl::Duration timeout) {
  timeval tv = absl::ToTimeval(timeout);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0) {
    return true;
  }
  timeval none{};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
  return false;
}

// "n0", "r7", "w3", "b1": xenstore's string form of one permission.
std::string FormatPermission(const xs_permissions& p) {
  const bool r = p.perms & XS_PERM_READ, w = p.perms & XS_PERM_WRITE;
  return absl::StrCat(r && w ? "b" : r ? "r" : w ? "w" : "n", p.id);
}

bool ParsePermission(const std::string& text, xs_permissions* out) {
  if (text.size() < 2) return false;
  switch (text[0]) {
    case 'n':
      out->perms = XS_PERM_NONE;
      break;
    case 'r':
      out->perms = XS_PERM_READ;
      break;
    case 'w':
      out->perms = XS_PERM_WRITE;
      break;
    case 'b':
      out->perms = XS_PERM_READ | XS_PERM_WRITE;
      break;
    default:
      return false;
  }
  char* end = nullptr;
  unsigned long id = std::strtoul(text.c_str() + 1, &end, 10);
  if (*end != '\0' || id >= kDomidFirstReserved) return false;
  out->id = static_cast<unsigned int>(id);
  return true;
}

class LibxenstoreClient;

class LibxenstoreTransaction : public XenstoreTransaction {
 public:
  LibxenstoreTransaction(LibxenstoreClient* client, xs_transaction_t id)
      : client_(client), id_(id) {}
  ~LibxenstoreTransaction() override { Abort(); }

  absl::StatusOr<std::string> Read(std::string_view path) override;
  absl::StatusOr<std::vector<std::string>> Directory(
      std::string_view path) override;
  absl::Status Write(std::string_view path, std::string_view value) override;
  absl::Status Mkdir(std::string_view path) override;
  absl::Status Remove(std::string_view path) override;
  absl::Status SetPermissions(std::string_view path,
                              const std::vector<std::string>& perms) override;
  absl::StatusOr<std::vector<std::string>> GetPermissions(
      std::string_view path) override;
  absl::Status Commit() override;
  void Abort() override;

 private:
  absl::Status CheckOpen() const;
  LibxenstoreClient* client_;
  xs_transaction_t id_;
  bool ended_ = false;
};

class LibxenstoreClient : public XenstoreClient {
 public:
  // `timeout` is the bound set on the socket, zero if none.
  LibxenstoreClient(xs_handle* handle, CallObserver* observer,
                    absl::Duration timeout)
      : handle_(handle), observer_(observer), timeout_(timeout) {}
  ~LibxenstoreClient() override { xs_close(handle_); }

  absl::StatusOr<std::unique_ptr<XenstoreTransaction>> BeginTransaction()
      override {
    if (lost_) return LostError();
    xs_transaction_t id = xs_transaction_start(handle_);
    int err = id == XBT_NULL ? errno : 0;
    observer_->OnXenstoreRequest(XenstoreOp::kTransactionStart, err);
    if (id == XBT_NULL) return Failure(err, "transaction start");
    Heard();
    return std::unique_ptr<XenstoreTransaction>(
        std::make_unique<LibxenstoreTransaction>(this, id));
  }

  absl::StatusOr<std::string> Read(std::string_view path) override {
    return DoRead(XBT_NULL, path);
  }
  absl::StatusOr<std::vector<std::string>> Directory(
      std::string_view path) override {
    return DoDirectory(XBT_NULL, path);
  }
  absl::Status Write(std::string_view path, std::string_view value) override {
    return DoWrite(XBT_NULL, path, value);
  }
  absl::Status Remove(std::string_view path) override {
    return DoRemove(XBT_NULL, path);
  }

  absl::Status Watch(std::string_view path, std::string_view token) override {
    if (lost_) return LostError();
    std::string p(path), t(token);
    // xs_watch starts libxenstore's reader thread before it asks xenstored,
    // so the connection needs its keep-alive even if the watch fails.
    watching_ = true;
    bool ok = xs_watch(handle_, p.c_str(), t.c_str());
    return Done(XenstoreOp::kWatch, ok,
                absl::StrCat("watch ", std::string(path)));
  }

  absl::Status Unwatch(std::string_view path, std::string_view token) override {
    if (lost_) return LostError();
    std::string p(path), t(token);
    bool ok = xs_unwatch(handle_, p.c_str(), t.c_str());
    return Done(XenstoreOp::kUnwatch, ok,
                absl::StrCat("unwatch ", std::string(path)));
  }

  int WatchFd() override { return xs_fileno(handle_); }

  absl::StatusOr<std::optional<WatchEvent>> NextWatchEvent(
      absl::Duration timeout) override {
    if (lost_) return LostError();
    // libxenstore's reader thread does not wake the watch pipe when the
    // connection drops, so wait in short slices and look each time.
    const absl::Time deadline = absl::Now() + timeout;
    const int fd = xs_fileno(handle_);
    while (true) {
      char** event = xs_check_watch(handle_);
      if (event) {
        WatchEvent out{event[XS_WATCH_PATH], event[XS_WATCH_TOKEN]};
        free(event);
        observer_->OnWatchEvent();
        return std::optional<WatchEvent>(std::move(out));
      }
      if (errno != EAGAIN) {
        // EINVAL with an empty queue: the reader thread closed the socket.
        lost_ = true;
        return LostError();
      }
      if (auto s = KeepAlive(); !s.ok()) return s;
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return std::optional<WatchEvent>();
      int wait_ms = static_cast<int>(
          std::clamp<int64_t>(absl::ToInt64Milliseconds(left), 1, 100));
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
        return ErrnoToStatus(errno, "poll on xenstore watch pipe");
      }
    }
  }

  absl::Status IntroduceDomain(Domid domid, uint64_t ring_mfn,
                               uint32_t event_channel) override {
    if (lost_) return LostError();
    bool ok = xs_introduce_domain(handle_, domid, ring_mfn, event_channel);
    return Done(XenstoreOp::kIntroduceDomain, ok,
                absl::StrCat("introduce domain ", domid));
  }

  absl::Status ReleaseDomain(Domid domid) override {
    if (lost_) return LostError();
    bool ok = xs_release_domain(handle_, domid);
    return Done(XenstoreOp::kReleaseDomain, ok,
                absl::StrCat("release domain ", domid));
  }

  absl::Status ResumeDomain(Domid domid) override {
    if (lost_) return LostError();
    bool ok = xs_resume_domain(handle_, domid);
    return Done(XenstoreOp::kResumeDomain, ok,
                absl::StrCat("resume domain ", domid));
  }

  absl::StatusOr<bool> IsDomainIntroduced(Domid domid) override {
    if (lost_) return LostError();
    // libxenstore answers false both for "no" and for a failed request.
    errno = 0;
    bool introduced = xs_is_domain_introduced(handle_, domid);
    int err = introduced ? 0 : errno;
    observer_->OnXenstoreRequest(XenstoreOp::kIsDomainIntroduced, err);
    if (!introduced && err != 0 && err != ENOENT) {
      return Failure(err, absl::StrCat("is domain ", domid, " introduced"));
    }
    Heard();
    return introduced;
  }

  // --- shared with transactions ---------------------------------------
  absl::StatusOr<std::string> DoRead(xs_transaction_t t,
                                     std::string_view path) {
    if (lost_) return LostError();
    std::string p(path);
    unsigned int len = 0;
    void* value = xs_read(handle_, t, p.c_str(), &len);
    int err = value ? 0 : errno;
    observer_->OnXenstoreRequest(XenstoreOp::kRead, err);
    if (!value) return Failure(err, absl::StrCat("read ", std::string(path)));
    Heard();
    std::string out(static_cast<char*>(value), len);
    free(value);
    return out;
  }

  absl::StatusOr<std::vector<std::string>> DoDirectory(xs_transaction_t t,
                                                       std::string_view path) {
    if (lost_) return LostError();
    std::string p(path);
    unsigned int num = 0;
    char** entries = xs_directory(handle_, t, p.c_str(), &num);
    int err = entries ? 0 : errno;
    observer_->OnXenstoreRequest(XenstoreOp::kDirectory, err);
    if (!entries)
      return Failure(err, absl::StrCat("directory ", std::string(path)));
    Heard();
    std::vector<std::string> out(entries, entries + num);
    free(entries);
    return out;
  }

  absl::Status DoWrite(xs_transaction_t t, std::string_view path,
                       std::string_view value) {
    if (lost_) return LostError();
    std::string p(path);
    bool ok = xs_write(handle_, t, p.c_str(), value.data(), value.size());
    return Done(XenstoreOp::kWrite, ok,
                absl::StrCat("write ", std::string(path)));
  }

  absl::Status DoMkdir(xs_transaction_t t, std::string_view path) {
    if (lost_) return LostError();
    std::string p(path);
    bool ok = xs_mkdir(handle_, t, p.c_str());
    return Done(XenstoreOp::kMkdir, ok,
                absl::StrCat("mkdir ", std::string(path)));
  }

  absl::Status DoRemove(xs_transaction_t t, std::string_view path) {
    if (lost_) return LostError();
    std::string p(path);
    bool ok = xs_rm(handle_, t, p.c_str());
    return Done(XenstoreOp::kRemove, ok,
                absl::StrCat("rm ", std::string(path)));
  }

  absl::Status DoSetPermissions(xs_transaction_t t, std::string_view path,
                                const std::vector<std::string>& perms) {
    if (lost_) return LostError();
    std::vector<xs_permissions> parsed(perms.size());
    for (size_t i = 0; i < perms.size(); ++i) {
      if (!ParsePermission(perms[i], &parsed[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad xenstore permission \"", perms[i], "\""));
      }
    }
    std::string p(path);
    bool ok =
        xs_set_permissions(handle_, t, p.c_str(), parsed.data(), parsed.size());
    return Done(XenstoreOp::kSetPermissions, ok,
                absl::StrCat("set permissions ", std::string(path)));
  }

  absl::StatusOr<std::vector<std::string>> DoGetPermissions(
      xs_transaction_t t, std::string_view path) {
    if (lost_) return LostError();
    std::string p(path);
    unsigned int num = 0;
    xs_permissions* perms = xs_get_permissions(handle_, t, p.c_str(), &num);
    int err = perms ? 0 : errno;
    observer_->OnXenstoreRequest(XenstoreOp::kGetPermissions, err);
    if (!perms) {
      return Failure(err, absl::StrCat("get permissions ", std::string(path)));
    }
    Heard();
    std::vector<std::string> out;
    for (unsigned int i = 0; i < num; ++i)
      out.push_back(FormatPermission(perms[i]));
    free(perms);
    return out;
  }

  absl::Status EndTransaction(xs_transaction_t t, bool abort) {
    if (lost_) return LostError();
    const auto start = std::chrono::steady_clock::now();
    bool ok = xs_transaction_end(handle_, t, abort);
    int err = ok ? 0 : errno;
    observer_->OnXenstoreRequest(XenstoreOp::kTransactionEnd, err);
    if (ok) {
      observer_->OnTransactionEnd(abort ? TransactionOutcome::kAborted
                                        : TransactionOutcome::kCommitted);
      Heard();
      return absl::OkStatus();
    }
    absl::Status status =
        Failure(err, abort ? "transaction abort" : "transaction commit",
                std::chrono::steady_clock::now() - start);
    observer_->OnTransactionEnd(err == EAGAIN && !IsConnectionLost(status)
                                    ? TransactionOutcome::kConflict
                                    : TransactionOutcome::kError);
    return status;
  }

 private:
  absl::Status LostError() const {
    if (timeout_ > absl::ZeroDuration()) {
      return absl::UnavailableError(absl::StrCat(
          "connection to xenstored lost (closed, or no answer within ",
          absl::FormatDuration(timeout_), ")"));
    }
    return absl::UnavailableError("connection to xenstored lost");
  }

  absl::Status Done(XenstoreOp op, bool ok, std::string_view what) {
    int err = ok ? 0 : errno;
    observer_->OnXenstoreRequest(op, err);
    if (ok) {
      Heard();
      return absl::OkStatus();
    }
    return Failure(err, what);
  }

  // libxenstore reports a dropped connection as EINVAL or EBADF, which
  // xenstored also uses for bad requests, and a request that hit the bound
  // as EAGAIN, which is also a transaction's conflict: tell them apart with
  // a request that cannot fail on a live connection. `took`: how long the
  // request waited, when known (an EAGAIN sooner than the bound is
  // xenstored's).
  absl::Status Failure(int err, std::string_view what,
                       std::chrono::steady_clock::duration took =
                           std::chrono::steady_clock::duration::max()) {
    const bool maybe_timeout = timeout_ > absl::ZeroDuration() &&
                               err == EAGAIN &&
                               took >= absl::ToChronoNanoseconds(timeout_);
    if (err == EINVAL || err == EBADF || err == EPIPE || err == ECONNRESET ||
        err == EIO || err == 0 || maybe_timeout) {
      if (!Probe()) {
        absl::Status lost = LostError();
        return absl::UnavailableError(
            absl::StrCat(lost.message(), " (", std::string(what), ")"));
      }
    }
    Heard();  // xenstored answered, with an error
    return ErrnoToStatus(err, what);
  }

  // True if xenstored answers a request that needs nothing but a live
  // connection (XS_GET_DOMAIN_PATH); otherwise the connection is lost.
  bool Probe() {
    char* path = xs_get_domain_path(handle_, 0);
    observer_->OnXenstoreRequest(XenstoreOp::kGetDomainPath, path ? 0 : errno);
    if (!path) {
      lost_ = true;
      return false;
    }
    free(path);
    Heard();
    return true;
  }

  // A connection with watches has libxenstore's reader thread blocked in a
  // read, which the bound would end on a quiet host: a request every third
  // of the bound keeps a live connection from looking dead. (Events do not
  // count: when one arrived is not known, only when it was taken.) A
  // request on such a connection therefore gets at least two thirds of the
  // bound, since the reader's read started at the last byte received.
  absl::Status KeepAlive() {
    if (timeout_ == absl::ZeroDuration() || !watching_) return absl::OkStatus();
    const auto quiet = std::chrono::steady_clock::now() - LastHeard();
    if (quiet < absl::ToChronoNanoseconds(timeout_ / 3)) {
      return absl::OkStatus();
    }
    if (!Probe()) return LostError();
    return absl::OkStatus();
  }

  // Monotonic: a wall clock stepped back would hold the keep-alive off.
  void Heard() {
    last_heard_ns_.store(
        std::chrono::steady_clock::now().time_since_epoch().count(),
        std::memory_order_relaxed);
  }
  std::chrono::steady_clock::time_point LastHeard() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(
            last_heard_ns_.load(std::memory_order_relaxed)));
  }
  xs_handle* handle_;
  CallObserver* observer_;
  const absl::Duration timeout_;
  std::atomic<bool> lost_{false};
  std::atomic<bool> watching_{false};
  std::atomic<std::chrono::steady_clock::rep> last_heard_ns_{
      std::chrono::steady_clock::now().time_since_epoch().count()};
};

absl::Status LibxenstoreTransaction::CheckOpen() const {
  if (ended_) {
    return absl::FailedPreconditionError("transaction already ended");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LibxenstoreTransaction::Read(
    std::string_view path) {
  if (auto s = CheckOpen(); !s.ok()) return s;
  return client_->DoRead(id_, path);
}

absl::StatusOr<std::vector<std::string>> LibxenstoreTransaction::Directory(
    std::string_view path) {
  if (auto s = CheckOpen(); !s.ok()) return s;
  return client_->DoDirectory(id_, path);
}

absl::Status LibxenstoreTransaction::Write(std::string_view path,
                                           std::string_view value) {
  if (auto s = CheckOpen(); !s.ok()) return s;
  return client_->DoWrite(id_, path, value);
}

absl::Status LibxenstoreTransaction::Mkdir(std::string_view path) {
  if (auto s = CheckOpen(); !s.ok()) return s;
  return client_->DoMkdir(id_, path);
}

absl::Status LibxenstoreTransaction::Remove(std::string_view path) {
  if (auto s = CheckOpen(); !s.ok()) return s;
  return client_->DoRemove(id_, path);
}

absl::Status LibxenstoreTransaction::SetPermissions(
    std::string_view path, const std::vector<std::string>& perms) {
  if (auto s = CheckOpen(); !s.ok()) return s;
  return client_->DoSetPermissions(id_, path, perms);
}

absl::StatusOr<std::vector<std::string>> LibxenstoreTransaction::GetPermissions(
    std::string_view path) {
  if (auto s = CheckOpen(); !s.ok()) return s;
  return client_->DoGetPermissions(id_, path);
}

absl::Status LibxenstoreTransaction::Commit() {
  if (auto s = CheckOpen(); !s.ok()) return s;
  ended_ = true;
  return client_->EndTransaction(id_, /*abort=*/false);
}

void LibxenstoreTransaction::Abort() {
  if (ended_) return;
  ended_ = true;
  client_->EndTransaction(id_, /*abort=*/true).IgnoreError();
}

}  // namespace

absl::StatusOr<std::unique_ptr<XenstoreClient>> OpenLibxenstoreClient(
    const XenstoreOptions& options) {
  const std::string path = DaemonSocket(options.socket_path);
  if (options.request_timeout > absl::ZeroDuration()) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
        AskDaemon(path, options.request_timeout) == Liveness::kSilent) {
      return absl::UnavailableError(
          absl::StrCat("xenstored at ", path, " does not answer within ",
                       absl::FormatDuration(options.request_timeout),
                       " (is it stopped or overloaded?)"));
    }
  }
  xs_handle* handle = OpenHandle(options.socket_path);
  if (!handle) {
    int err = errno;
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to xenstored",
        options.socket_path.empty() ? ""
                                    : absl::StrCat(" at ", options.socket_path),
        ": ", ErrnoToStatus(err, "xs_open").message()));
  }
  CallObserver* observer =
      options.observer ? options.observer : NullCallObserver();
  absl::Duration timeout;
  if (options.request_timeout > absl::ZeroDuration()) {
    const int fd = ConnectionSocket(handle, path);
    if (fd >= 0 && BoundRequests(fd, options.request_timeout)) {
      timeout = options.request_timeout;
    } else {
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true)) {
        LogWarning(
            "xenstore_timeout_unavailable",
            {{"path", path},
             {"reason", fd < 0 ? "not connected to that unix socket (the "
                                 "xenbus device has no timeout to set)"
                               : "setsockopt failed"},
             {"effect", "xenstore requests wait without a bound"}});
      }
    }
  }
  return std::unique_ptr<XenstoreClient>(
      std::make_unique<LibxenstoreClient>(handle, observer, timeout));
}

absl::StatusOr<std::string> XenstoredControl(
    const std::string& socket_path, const std::vector<std::string>& words) {
  if (words.empty()) return absl::InvalidArgumentError("no control command");
  xs_handle* handle = OpenHandle(socket_path);
  if (!handle) {
    return ErrnoToStatus(errno, "xs_open " + socket_path);
  }
  // The command, then each argument NUL-terminated (xenstore-control's
  // encoding).
  std::string args;
  for (size_t i = 1; i < words.size(); ++i) {
    args += words[i];
    args.push_back('\0');
  }
  char* answer =
      xs_control_command(handle, words[0].c_str(), args.data(), args.size());
  const int err = errno;
  xs_close(handle);
  if (!answer) {
    return ErrnoToStatus(err, "xenstored control " + words[0]);
  }
  std::string out(answer);
  free(answer);
  return out;
}

}  // namespace xenlet::xen

#include "xen/testing/memory_xenstore.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "xen/errno_status.h"

namespace xenlet::xen::testing {
namespace {

struct Node {
  std::string value;
  std::vector<std::string> perms;
  // Changes whenever the node or its list of children does: what a
  // transaction's commit compares (xenstored's node generation).
  uint64_t generation = 0;
};

using Tree = std::map<std::string, Node, std::less<>>;

absl::Status Error(int err, std::string_view what, std::string_view path) {
  return ErrnoToStatus(err, std::string(what) + " " + std::string(path));
}

absl::Status Lost() {
  return absl::UnavailableError("connection to xenstored lost");
}

// xenstored's is_valid_nodename and valid_chars, for absolute paths (Xen
// also takes paths relative to /local/domain/<caller>; nothing here
// sends one, so they are refused).
absl::Status CheckPath(std::string_view path, std::string_view what) {
  bool ok = !path.empty() && path[0] == '/' &&
            (path.size() == 1 || path.back() != '/') &&
            path.find("//") == std::string_view::npos && path.size() <= 2048;
  for (char c : path) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                std::string_view("/_@-").find(c) != std::string_view::npos);
  }
  return ok ? absl::OkStatus() : Error(EINVAL, what, path);
}

bool IsSpecial(std::string_view path) {
  return !path.empty() && path[0] == '@';
}

std::string Parent(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : std::string(path.substr(0, slash));
}

// Whether path lies strictly below top.
bool IsBelow(std::string_view path, std::string_view top) {
  if (top == "/") return path.size() > 1 && path[0] == '/';
  return path.size() > top.size() && path.starts_with(top) &&
         path[top.size()] == '/';
}

std::string ChildPrefix(std::string_view path) {
  return path == "/" ? "/" : std::string(path) + "/";
}

// A change that fires watches: a node written or removed.
struct Change {
  std::string path;
  bool removed = false;
  // For a removal: the nodes that went with it, deepest first.
  std::vector<std::string> below;
};

enum class RemoveResult { kRemoved, kMissing, kParentMissing };

// The store's edits, on the live tree or on a transaction's view. on_access
// is told of each node an edit reads before it reads it.
class TreeEditor {
 public:
  TreeEditor(Tree* tree, uint64_t* generation)
      : tree_(tree), generation_(generation) {}

  // Creates path and its missing ancestors; sets the value unless
  // only_if_missing and the node exists. Reports what it touched (before)
  // through on_access.
  template <typename OnAccess>
  bool Write(std::string_view path, std::string_view value,
             bool only_if_missing, OnAccess on_access) {
    on_access(std::string(path));  // may bring the node into the view
    auto it = tree_->find(path);
    if (it != tree_->end()) {
      if (only_if_missing) return false;
      it->second.value = std::string(value);
      it->second.generation = ++*generation_;
      return true;
    }
    std::string parent = Parent(path);
    on_access(parent);
    if (!tree_->contains(parent)) Write(parent, "", true, on_access);
    Node& up = tree_->at(parent);
    up.generation = ++*generation_;  // its children changed
    // The parent's permissions, as they are: xenstored makes the writer
    // the owner only for an unprivileged writer, and every connection here
    // is dom0's.
    tree_->emplace(std::string(path),
                   Node{std::string(value), up.perms, ++*generation_});
    return true;
  }

  // xenstored's do_rm: a missing node under an existing parent is no
  // error (kMissing, nothing changes); under a missing one, ENOENT.
  // *below receives the removed descendants, deepest first.
  template <typename OnAccess>
  RemoveResult Remove(std::string_view path, OnAccess on_access,
                      std::vector<std::string>* below) {
    on_access(std::string(path));
    std::string parent = Parent(path);
    on_access(parent);
    auto it = tree_->find(path);
    if (it == tree_->end()) {
      return tree_->contains(parent) ? RemoveResult::kMissing
                                     : RemoveResult::kParentMissing;
    }
    tree_->erase(it);
    // The subtree is [path + "/", path + "0"): '0' follows '/'. (A sibling
    // such as path + "-x" sorts between path and its subtree.)
    auto first = tree_->lower_bound(std::string(path) + "/");
    auto last = tree_->lower_bound(std::string(path) + "0");
    if (below) {
      for (auto i = first; i != last; ++i) below->push_back(i->first);
      // Children sort after their parents: reversed, deepest first.
      std::reverse(below->begin(), below->end());
    }
    tree_->erase(first, last);
    tree_->at(parent).generation = ++*generation_;
    return RemoveResult::kRemoved;
  }

 private:
  Tree* tree_;
  uint64_t* generation_;
};

std::vector<std::string> Children(const Tree& tree, std::string_view path) {
  std::vector<std::string> out;
  const std::string prefix = ChildPrefix(path);
  for (auto it = tree.upper_bound(prefix);
       it != tree.end() && it->first.starts_with(prefix); ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    if (!rest.empty() && rest.find('/') == std::string_view::npos) {
      out.emplace_back(rest);
    }
  }
  return out;
}

absl::Status CheckPerms(const std::vector<std::string>& perms,
                        std::string_view path) {
  if (perms.empty()) return Error(EINVAL, "set permissions", path);
  for (const std::string& p : perms) {
    uint32_t domid;
    if (p.size() < 2 ||
        std::string_view("nrwb").find(p[0]) == std::string_view::npos ||
        !absl::SimpleAtoi(absl::string_view(p).substr(1), &domid)) {
      return Error(EINVAL, "set permissions", path);
    }
  }
  return absl::OkStatus();
}

class Connection;

}  // namespace

struct MemoryXenstore::State {
  mutable absl::Mutex mutex;
  Tree tree ABSL_GUARDED_BY(mutex);
  uint64_t generation ABSL_GUARDED_BY(mutex) = 0;
  bool up ABSL_GUARDED_BY(mutex) = true;
  uint64_t epoch ABSL_GUARDED_BY(mutex) = 0;  // bumped by each crash
  std::set<Domid> introduced ABSL_GUARDED_BY(mutex);
  std::vector<Connection*> connections ABSL_GUARDED_BY(mutex);
  uint64_t requests ABSL_GUARDED_BY(mutex) = 0;
  uint64_t committed ABSL_GUARDED_BY(mutex) = 0;
  uint64_t conflicted ABSL_GUARDED_BY(mutex) = 0;

  // What C xenstored starts with: the root, /tool/xenstored, and dom0
  // introduced.
  void Reset() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    tree.clear();
    tree.emplace("/", Node{"", {"n0"}, ++generation});
    tree.emplace("/tool", Node{"", {"n0"}, ++generation});
    tree.emplace("/tool/xenstored", Node{"", {"n0"}, ++generation});
    introduced = {0};
  }
  void Fire(const Change& change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex);
};

namespace {

class Connection : public XenstoreClient {
 public:
  using State = MemoryXenstore::State;

  Connection(std::shared_ptr<State> state, uint64_t epoch)
      : state_(std::move(state)),
        epoch_(epoch),
        event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

  ~Connection() override {
    {
      absl::MutexLock lock(&state_->mutex);
      auto& all = state_->connections;
      all.erase(std::remove(all.begin(), all.end(), this), all.end());
    }
    if (event_fd_ >= 0) close(event_fd_);
  }

  // Under state_->mutex: queues the events a change fires here, as
  // xenstored's delnode_sub and fire_watches do: each removed descendant
  // fires the watches on itself exactly, deepest first; then the changed
  // (or removed) node fires the watches on it and on its ancestors.
  void Deliver(const Change& change) {
    for (const std::string& gone : change.below) {
      for (const auto& [watched, token] : watches_) {
        if (watched == gone) Push({gone, token});
      }
    }
    for (const auto& [watched, token] : watches_) {
      if (IsSpecial(change.path) || IsSpecial(watched)) {
        if (change.path == watched) Push({watched, token});
      } else if (change.path == watched || IsBelow(change.path, watched)) {
        Push({change.path, token});
      }
    }
  }
  void MarkLost() {
    lost_ = true;
    Wake();
  }

  absl::StatusOr<std::unique_ptr<XenstoreTransaction>> BeginTransaction()
      override;

  absl::StatusOr<std::string> Read(std::string_view path) override {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    if (absl::Status s = CheckPath(path, "read"); !s.ok()) return s;
    auto it = state_->tree.find(path);
    if (it == state_->tree.end()) return Error(ENOENT, "read", path);
    return it->second.value;
  }

  absl::StatusOr<std::vector<std::string>> Directory(
      std::string_view path) override {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    if (absl::Status s = CheckPath(path, "directory"); !s.ok()) return s;
    if (!state_->tree.contains(path)) return Error(ENOENT, "directory", path);
    return Children(state_->tree, path);
  }

  absl::Status Write(std::string_view path, std::string_view value) override {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    if (absl::Status s = CheckPath(path, "write"); !s.ok()) return s;
    TreeEditor(&state_->tree, &state_->generation)
        .Write(path, value, false, [](const std::string&) {});
    state_->Fire({std::string(path), false, {}});
    return absl::OkStatus();
  }

  absl::Status Remove(std::string_view path) override {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    if (absl::Status s = CheckPath(path, "remove"); !s.ok()) return s;
    if (path == "/") return Error(EINVAL, "remove", path);
    Change change{std::string(path), true, {}};
    switch (TreeEditor(&state_->tree, &state_->generation)
                .Remove(
                    path, [](const std::string&) {}, &change.below)) {
      case RemoveResult::kParentMissing:
        return Error(ENOENT, "remove", path);
      case RemoveResult::kMissing:
        return absl::OkStatus();
      case RemoveResult::kRemoved:
        state_->Fire(change);
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  absl::Status Watch(std::string_view path, std::string_view token) override {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    if (!IsSpecial(path)) {
      if (absl::Status s = CheckPath(path, "watch"); !s.ok()) return s;
    }
    for (const auto& [p, t] : watches_) {
      if (p == path && t == token) return Error(EEXIST, "watch", path);
    }
    watches_.emplace_back(std::string(path), std::string(token));
    // xenstored fires a new watch once, with its own path.
    Push({std::string(path), std::string(token)});
    return absl::OkStatus();
  }

  absl::Status Unwatch(std::string_view path, std::string_view token) override {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    for (auto it = watches_.begin(); it != watches_.end(); ++it) {
      if (it->first == path && it->second == token) {
        watches_.erase(it);
        return absl::OkStatus();
      }
    }
    return Error(ENOENT, "unwatch", path);
  }

  int WatchFd() override { return event_fd_; }

  absl::StatusOr<std::optional<WatchEvent>> NextWatchEvent(
      absl::Duration timeout) override {
    absl::MutexLock lock(&state_->mutex);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mutex) {
      return lost_ || !queue_.empty();
    };
    state_->mutex.AwaitWithTimeout(absl::Condition(&ready), timeout);
    if (lost_) return Lost();
    if (queue_.empty()) return std::optional<WatchEvent>();
    WatchEvent event = std::move(queue_.front());
    queue_.pop_front();
    if (queue_.empty()) Drain();
    return std::optional<WatchEvent>(std::move(event));
  }

  absl::Status IntroduceDomain(Domid domid, uint64_t ring_mfn,
                               uint32_t event_channel) override {
    (void)ring_mfn;
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    if (event_channel == 0) {
      return Error(EINVAL, "introduce domain", absl::StrCat(domid));
    }
    // Introducing an introduced domain again only rebinds its channel;
    // dom0's introduction is never announced.
    if (state_->introduced.insert(domid).second && domid != 0) {
      state_->Fire({"@introduceDomain", false, {}});
    }
    return absl::OkStatus();
  }

  absl::Status ReleaseDomain(Domid domid) override {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    if (domid == 0) return Error(EINVAL, "release domain", "0");
    if (state_->introduced.erase(domid) == 0) {
      return Error(ENOENT, "release domain", absl::StrCat(domid));
    }
    state_->Fire({"@releaseDomain", false, {}});
    return absl::OkStatus();
  }

  absl::Status ResumeDomain(Domid domid) override {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    if (domid == 0) return Error(EINVAL, "resume domain", "0");
    if (!state_->introduced.contains(domid)) {
      return Error(ENOENT, "resume domain", absl::StrCat(domid));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> IsDomainIntroduced(Domid domid) override {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
    return state_->introduced.contains(domid);
  }

  const std::shared_ptr<State>& shared_state() { return state_; }
  uint64_t epoch() const { return epoch_; }

  // Counts one request, or fails if xenstored died.
  absl::Status Request() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mutex) {
    if (lost_ || !state_->up || state_->epoch != epoch_) return Lost();
    ++state_->requests;
    return absl::OkStatus();
  }

 private:
  void Push(WatchEvent event) {
    queue_.push_back(std::move(event));
    Wake();
  }
  void Wake() {
    uint64_t one = 1;
    if (write(event_fd_, &one, sizeof(one)) < 0) {
      // EAGAIN: the counter is full, so the fd is readable anyway.
    }
  }
  void Drain() {
    uint64_t count;
    if (read(event_fd_, &count, sizeof(count)) < 0) {
      // EAGAIN: nothing to drain.
    }
  }

  const std::shared_ptr<State> state_;
  const uint64_t epoch_;
  const int event_fd_;
  // Guarded by state_->mutex.
  std::vector<std::pair<std::string, std::string>> watches_;
  std::deque<WatchEvent> queue_;
  bool lost_ = false;
};

// As xenstored 4.17's transactions: no snapshot at the start; a node is
// read from the live store when the transaction first touches it, and its
// generation then recorded. The commit fails with EAGAIN if any touched
// node changed since, else applies the transaction's edits and fires their
// watches, once per node.
class Transaction : public XenstoreTransaction {
 public:
  explicit Transaction(Connection* connection)
      : state_(connection->shared_state()), epoch_(connection->epoch()) {}

  ~Transaction() override { Abort(); }

  absl::StatusOr<std::string> Read(std::string_view path) override {
    if (absl::Status s = Begin("read", path); !s.ok()) return s;
    Access(std::string(path));
    auto it = view_.find(path);
    if (it == view_.end()) return Error(ENOENT, "read", path);
    return it->second.value;
  }

  absl::StatusOr<std::vector<std::string>> Directory(
      std::string_view path) override {
    if (absl::Status s = Begin("directory", path); !s.ok()) return s;
    Access(std::string(path), Depth::kChildren);
    if (!view_.contains(path)) return Error(ENOENT, "directory", path);
    return Children(view_, path);
  }

  absl::Status Write(std::string_view path, std::string_view value) override {
    if (absl::Status s = Begin("write", path); !s.ok()) return s;
    AccessAncestors(path);
    TreeEditor(&view_, &local_generation_)
        .Write(path, value, false, [this](const std::string& p) { Access(p); });
    ops_.push_back(Op{Op::kWrite, std::string(path), std::string(value), {}});
    return absl::OkStatus();
  }

  absl::Status Mkdir(std::string_view path) override {
    if (absl::Status s = Begin("mkdir", path); !s.ok()) return s;
    AccessAncestors(path);
    if (TreeEditor(&view_, &local_generation_)
            .Write(path, "", true,
                   [this](const std::string& p) { Access(p); })) {
      ops_.push_back(Op{Op::kMkdir, std::string(path), "", {}});
    }
    return absl::OkStatus();
  }

  absl::Status Remove(std::string_view path) override {
    if (absl::Status s = Begin("remove", path); !s.ok()) return s;
    if (path == "/") return Error(EINVAL, "remove", path);
    Access(std::string(path), Depth::kSubtree);
    switch (
        TreeEditor(&view_, &local_generation_)
            .Remove(
                path, [this](const std::string& p) { Access(p); }, nullptr)) {
      case RemoveResult::kParentMissing:
        return Error(ENOENT, "remove", path);
      case RemoveResult::kMissing:
        return absl::OkStatus();
      case RemoveResult::kRemoved:
        ops_.push_back(Op{Op::kRemove, std::string(path), "", {}});
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  absl::Status SetPermissions(std::string_view path,
                              const std::vector<std::string>& perms) override {
    if (absl::Status s = Begin("set permissions", path); !s.ok()) return s;
    if (absl::Status s = CheckPerms(perms, path); !s.ok()) return s;
    Access(std::string(path));
    auto it = view_.find(path);
    if (it == view_.end()) return Error(ENOENT, "set permissions", path);
    it->second.perms = perms;
    it->second.generation = ++local_generation_;
    ops_.push_back(Op{Op::kSetPermissions, std::string(path), "", perms});
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> GetPermissions(
      std::string_view path) override {
    if (absl::Status s = Begin("get permissions", path); !s.ok()) return s;
    Access(std::string(path));
    auto it = view_.find(path);
    if (it == view_.end()) return Error(ENOENT, "get permissions", path);
    return it->second.perms;
  }

  absl::Status Commit() override {
    if (done_) return absl::FailedPreconditionError("transaction ended");
    done_ = true;
    MemoryXenstore::State& state = *state_;
    absl::MutexLock lock(&state.mutex);
    if (!state.up || state.epoch != epoch_) return Lost();
    ++state.requests;
    for (const auto& [path, generation] : accessed_) {
      auto it = state.tree.find(path);
      const uint64_t now = it == state.tree.end() ? 0 : it->second.generation;
      if (now != generation) {
        ++state.conflicted;
        return Error(EAGAIN, "transaction conflict on", path);
      }
    }
    TreeEditor live(&state.tree, &state.generation);
    auto ignore = [](const std::string&) {};
    std::vector<Change> changes;
    for (const Op& op : ops_) {
      Change change{op.path, op.kind == Op::kRemove, {}};
      switch (op.kind) {
        case Op::kWrite:
          live.Write(op.path, op.value, false, ignore);
          break;
        case Op::kMkdir:
          live.Write(op.path, "", true, ignore);
          break;
        case Op::kRemove:
          live.Remove(op.path, ignore, &change.below);
          break;
        case Op::kSetPermissions: {
          Node& node = state.tree.at(op.path);
          node.perms = op.perms;
          node.generation = ++state.generation;
          break;
        }
      }
      changes.push_back(std::move(change));
    }
    ++state.committed;
    // One firing per node, in the order the transaction first edited them.
    std::set<std::string> fired;
    for (const Change& change : changes) {
      if (fired.insert(change.path).second) state.Fire(change);
    }
    return absl::OkStatus();
  }

  void Abort() override {
    if (done_) return;
    done_ = true;
    absl::MutexLock lock(&state_->mutex);
    if (state_->up && state_->epoch == epoch_) ++state_->requests;
  }

 private:
  struct Op {
    enum Kind { kWrite, kMkdir, kRemove, kSetPermissions } kind;
    std::string path;
    std::string value;
    std::vector<std::string> perms;
  };
  enum class Depth { kNode, kChildren, kSubtree };

  absl::Status Begin(std::string_view what, std::string_view path) {
    if (done_) return absl::FailedPreconditionError("transaction ended");
    {
      absl::MutexLock lock(&state_->mutex);
      if (!state_->up || state_->epoch != epoch_) return Lost();
      ++state_->requests;
    }
    return CheckPath(path, what);
  }

  // The first touch of a node reads it from the live store into the view
  // and records its generation (0: absent); later touches see the view.
  // kChildren also brings in which children it has, kSubtree everything
  // below it (a listing reads the node's child list; a removal walks the
  // subtree).
  void Access(const std::string& path, Depth depth = Depth::kNode) {
    const bool first = !accessed_.contains(path);
    if (!first && depth == Depth::kNode) return;
    absl::MutexLock lock(&state_->mutex);
    if (first) {
      auto it = state_->tree.find(path);
      accessed_[path] = it == state_->tree.end() ? 0 : it->second.generation;
      if (it == state_->tree.end()) {
        view_.erase(path);
      } else {
        view_[path] = it->second;
      }
    }
    if (depth == Depth::kNode) return;
    const std::string prefix = ChildPrefix(path);
    for (auto it = state_->tree.upper_bound(prefix);
         it != state_->tree.end() && it->first.starts_with(prefix); ++it) {
      std::string_view rest = std::string_view(it->first).substr(prefix.size());
      if (depth == Depth::kChildren &&
          rest.find('/') != std::string_view::npos) {
        continue;
      }
      if (accessed_.contains(it->first)) continue;
      if (depth == Depth::kSubtree) {
        accessed_[it->first] = it->second.generation;  // walked: read
        view_[it->first] = it->second;
      } else {
        // Listed, not read: the child list is the parent's. The child is
        // read (and recorded) when first touched itself.
        view_.try_emplace(it->first, it->second);
      }
    }
  }
  void AccessAncestors(std::string_view path) {
    for (std::string p(path); p != "/";) {
      p = Parent(p);
      Access(p);
    }
  }

  const std::shared_ptr<MemoryXenstore::State> state_;
  const uint64_t epoch_;
  // The nodes this transaction has touched, as it sees them.
  Tree view_;
  uint64_t local_generation_ = uint64_t{1} << 62;  // apart from the live ones
  std::map<std::string, uint64_t> accessed_;
  std::vector<Op> ops_;
  bool done_ = false;
};

absl::StatusOr<std::unique_ptr<XenstoreTransaction>>
Connection::BeginTransaction() {
  {
    absl::MutexLock lock(&state_->mutex);
    if (absl::Status s = Request(); !s.ok()) return s;
  }
  return std::unique_ptr<XenstoreTransaction>(
      std::make_unique<Transaction>(this));
}

}  // namespace

void MemoryXenstore::State::Fire(const Change& change) {
  for (Connection* connection : connections) connection->Deliver(change);
}

MemoryXenstore::MemoryXenstore() : state_(std::make_shared<State>()) {
  absl::MutexLock lock(&state_->mutex);
  state_->Reset();
}

MemoryXenstore::~MemoryXenstore() = default;

absl::StatusOr<std::unique_ptr<XenstoreClient>> MemoryXenstore::Connect() {
  absl::MutexLock lock(&state_->mutex);
  if (!state_->up) {
    return ErrnoToStatus(ECONNREFUSED, "connect to xenstored (in memory)");
  }
  auto connection = std::make_unique<Connection>(state_, state_->epoch);
  state_->connections.push_back(connection.get());
  return std::unique_ptr<XenstoreClient>(std::move(connection));
}

void MemoryXenstore::Crash() {
  absl::MutexLock lock(&state_->mutex);
  state_->up = false;
  ++state_->epoch;
  for (Connection* connection : state_->connections) connection->MarkLost();
  state_->tree.clear();
  state_->introduced.clear();
}

void MemoryXenstore::Restart() {
  absl::MutexLock lock(&state_->mutex);
  if (state_->up) return;
  state_->up = true;
  state_->Reset();
}

void MemoryXenstore::FireSpecial(std::string_view name) {
  absl::MutexLock lock(&state_->mutex);
  if (state_->up) state_->Fire({std::string(name), false, {}});
}

uint64_t MemoryXenstore::requests() const {
  absl::MutexLock lock(&state_->mutex);
  return state_->requests;
}

uint64_t MemoryXenstore::transactions_committed() const {
  absl::MutexLock lock(&state_->mutex);
  return state_->committed;
}

uint64_t MemoryXenstore::transactions_conflicted() const {
  absl::MutexLock lock(&state_->mutex);
  return state_->conflicted;
}

}  // namespace xenlet::xen::testing

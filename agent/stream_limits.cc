#include "agent/stream_limits.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace xenlet::agent {

std::string PeerKey(const std::string& grpc_peer,
                    const PeerCredentials* credentials) {
  if (credentials) {
    if (auto credential = credentials->Find(grpc_peer)) {
      return absl::StrCat("uid ", credential->uid);
    }
  }
  // "ipv4:10.0.0.7:51234", "ipv6:[::1]:51234": drop the port.
  if (absl::StartsWith(grpc_peer, "ipv4:") ||
      absl::StartsWith(grpc_peer, "ipv6:")) {
    const size_t colon = grpc_peer.rfind(':');
    if (colon > 4) return grpc_peer.substr(0, colon);
  }
  return grpc_peer;
}

absl::Status StreamLimits::Acquire(const std::string& peer) {
  absl::MutexLock lock(&mutex_);
  if (open_ >= options_.max_streams) {
    ++refused_;
    return absl::ResourceExhaustedError(
        absl::StrCat("WatchDomains: the agent already serves ", open_,
                     " streams (--max-streams ", options_.max_streams,
                     "); retry later, or share one stream between watchers"));
  }
  size_t& mine = by_peer_[peer];
  if (mine >= options_.max_streams_per_peer) {
    ++refused_;
    return absl::ResourceExhaustedError(absl::StrCat(
        "WatchDomains: ", mine, " streams already open from ", peer,
        " (--max-streams-per-peer ", options_.max_streams_per_peer,
        "); close some first, or share one stream between watchers"));
  }
  ++mine;
  ++open_;
  return absl::OkStatus();
}

void StreamLimits::Release(const std::string& peer) {
  absl::MutexLock lock(&mutex_);
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return;
  if (--it->second == 0) by_peer_.erase(it);
  --open_;
}

size_t StreamLimits::open() const {
  absl::MutexLock lock(&mutex_);
  return open_;
}

uint64_t StreamLimits::refused() const {
  absl::MutexLock lock(&mutex_);
  return refused_;
}

}  // namespace xenlet::agent

#include "agent/domain_service.h"

#include "absl/strings/str_cat.h"
#include "agent/field_mask.h"
#include "agent/grpc_status.h"
#include "agent/page_token.h"
#include "agent/request_validation.h"
#include "agent/shared_bytes.h"
#include "agent/unary.h"
#include "store/uuid.h"

namespace xenlet::agent {
namespace {

void SetSnapshot(const store::DomainStore& store,
                 const store::Snapshot& snapshot, v1::ResumePoint* out) {
  out->set_instance_id(store.instance_id());
  out->set_revision(snapshot.revision);
}

// The domain as answered: its volatile fields from the snapshot's sweep,
// then the caller's mask.
template <typename Volatiles>
void CopyDomain(const v1::Domain& domain, Volatiles& volatiles,
                const google::protobuf::FieldMask& mask, v1::Domain* out) {
  *out = domain;
  volatiles.Merge(out);
  ApplyDomainMask(mask, out);
}

// Resolves one selector against a snapshot into its result.
void Resolve(const store::DomainStore& store, const store::Snapshot& snapshot,
             const v1::DomainSelector& selector,
             const google::protobuf::FieldMask& mask, v1::DomainResult* out) {
  *out->mutable_selector() = selector;
  std::vector<store::DomainPtr> found;
  std::string what;
  switch (selector.selector_case()) {
    case v1::DomainSelector::kDomid:
      if (const auto& d = snapshot.domains.Get(selector.domid())) {
        found.push_back(d);
      }
      what = absl::StrCat("domid ", selector.domid());
      break;
    case v1::DomainSelector::kUuid:
      found =
          store.FindByUuid(snapshot, *store::CanonicalUuid(selector.uuid()));
      // A domain and its re-created successor (xl's reboot: same UUID, new
      // domid) while the old one is dying: the UUID names the live one.
      if (found.size() > 1) {
        std::erase_if(found, [](const store::DomainPtr& d) {
          return d->state() == v1::DOMAIN_STATE_DYING;
        });
      }
      what = absl::StrCat("uuid ", selector.uuid());
      break;
    case v1::DomainSelector::kName:
      found = store.FindByName(snapshot, selector.name());
      what = absl::StrCat("name \"", selector.name(), "\"");
      break;
    case v1::DomainSelector::SELECTOR_NOT_SET:
      break;
  }
  if (found.empty()) {
    SetItemStatus(absl::NotFoundError(absl::StrCat("no domain with ", what)),
                  out->mutable_status());
  } else if (found.size() > 1) {
    SetItemStatus(
        absl::FailedPreconditionError(absl::StrCat(
            found.size(), " domains have ", what, "; select by domid or uuid")),
        out->mutable_status());
  } else {
    SetItemStatus(absl::OkStatus(), out->mutable_status());
    CopyDomain(*found[0], snapshot.volatiles, mask, out->mutable_domain());
  }
}

}  // namespace

DomainServiceImpl::DomainServiceImpl(store::DomainStore* store,
                                     DomainServiceOptions options,
                                     XenstoreReader::Connect xenstore,
                                     const PeerCredentials* peers)
    : store_(store),
      options_(options),
      reader_(xenstore ? std::make_unique<XenstoreReader>(
                             std::move(xenstore), options.xenstore_read_allow)
                       : nullptr),
      peers_(peers),
      limits_(options.limits),
      ticker_([this] { TickLoop(); }) {}

DomainServiceImpl::~DomainServiceImpl() {
  {
    absl::MutexLock lock(&streams_mutex_);
    stop_ticker_ = true;
  }
  ticker_.join();
}

void DomainServiceImpl::TickLoop() {
  absl::MutexLock lock(&streams_mutex_);
  while (!stop_ticker_) {
    // Waits for the tick period or for the stop request.
    streams_mutex_.AwaitWithTimeout(
        absl::Condition(
            +[](bool* stop) { return *stop; }, &stop_ticker_),
        options_.tick);
    const absl::Time now = absl::Now();
    for (WatchStream* stream : streams_) stream->Tick(now);
  }
}

grpc::ServerUnaryReactor* DomainServiceImpl::ListDomains(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw,
    grpc::ByteBuffer* raw_response) {
  v1::ListDomainsRequest request;
  if (!ParseRequest(*raw, &request)) {
    return FinishUnary(
        context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "request: not a xenlet.v1.ListDomainsRequest"));
  }
  if (auto s = ValidateListDomains(request); !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  std::shared_ptr<const store::Snapshot> snapshot;
  uint32_t first = 0;
  if (!request.page_token().empty()) {
    PageToken token = *DecodePageToken(request.page_token());
    if (token.instance_id != store_->instance_id()) {
      return FinishUnary(
          context, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                "page_token: it comes from another agent "
                                "instance (the agent restarted); list again "
                                "from the first page"));
    }
    snapshot = listings_.Find(token.revision);
    if (!snapshot) {
      return FinishUnary(
          context, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                "page_token: the snapshot of this listing is "
                                "no longer retained; list again from the "
                                "first page"));
    }
    first = token.next_domid;
  } else {
    snapshot = store_->snapshot();
  }
  const size_t page_size =
      request.page_size() > 0 ? request.page_size() : kDefaultPageSize;
  const store::DomainFilter filter(request.filter());
  uint32_t total = 0;
  uint32_t next = 0;
  bool more = false;
  // The page's domains, or where the next page starts.
  std::vector<store::DomainPtr> page;
  page.reserve(std::min<size_t>(page_size, snapshot->domains.size()));
  auto add = [&](const store::DomainPtr& d) {
    if (page.size() < page_size) {
      page.push_back(d);
      return true;
    }
    more = true;
    next = d->domid();
    return false;
  };
  if (filter.matches_everything()) {
    // The count is the table's: only the page itself is walked.
    total = snapshot->domains.size();
    snapshot->domains.ForEachFrom(first, add);
  } else {
    // total_size counts every match, so the walk covers the snapshot; the
    // copying is what page_size bounds.
    snapshot->domains.ForEach([&](const store::DomainPtr& d) {
      if (!filter.Matches(*d)) return;
      ++total;
      if (d->domid() >= first && !more) add(d);
    });
  }
  // Everything but the domains; field order does not matter on the wire.
  v1::ListDomainsResponse response;
  SetSnapshot(*store_, *snapshot, response.mutable_snapshot());
  response.set_total_size(total);
  if (more) {
    listings_.Retain(snapshot);
    response.set_next_page_token(
        EncodePageToken({store_->instance_id(), snapshot->revision, next}));
  }
  store::VolatileView::Cursor volatiles(snapshot->volatiles);
  std::string bytes;
  if (request.read_mask().paths_size() == 0) {
    // The common listing: each domain's kept wire form.
    bytes.reserve(page.size() * 400);
    for (const store::DomainPtr& d : page) {
      listed_.Append(v1::ListDomainsResponse::kDomainsFieldNumber, d,
                     volatiles.Find(d->domid()), &bytes);
    }
  } else {
    for (const store::DomainPtr& d : page) {
      CopyDomain(*d, volatiles, request.read_mask(), response.add_domains());
    }
  }
  response.AppendToString(&bytes);
  *raw_response = WrapString(std::move(bytes));
  return FinishUnary(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* DomainServiceImpl::GetDomains(
    grpc::CallbackServerContext* context, const v1::GetDomainsRequest* request,
    v1::GetDomainsResponse* response) {
  if (auto s = ValidateGetDomains(*request); !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  std::shared_ptr<const store::Snapshot> snapshot = store_->snapshot();
  for (const v1::DomainSelector& selector : request->selectors()) {
    Resolve(*store_, *snapshot, selector, request->read_mask(),
            response->add_results());
  }
  SetSnapshot(*store_, *snapshot, response->mutable_snapshot());
  return FinishUnary(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* DomainServiceImpl::WatchDomains(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw) {
  v1::WatchDomainsRequest request;
  if (!ParseRequest(*raw, &request)) {
    return new FinishedWriter<grpc::ByteBuffer>(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     "request: not a xenlet.v1.WatchDomainsRequest"));
  }
  if (auto s = ValidateWatchDomains(request); !s.ok()) {
    return new FinishedWriter<grpc::ByteBuffer>(ToGrpcStatus(s));
  }
  std::string peer = PeerKey(context->peer(), peers_);
  if (auto s = limits_.Acquire(peer); !s.ok()) {
    return new FinishedWriter<grpc::ByteBuffer>(ToGrpcStatus(s));
  }
  absl::MutexLock lock(&streams_mutex_);
  if (ending_) {
    limits_.Release(peer);
    return new FinishedWriter<grpc::ByteBuffer>(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "xenlet is shutting down"));
  }
  auto* stream =
      new WatchStream(store_, request, options_.watch, &watch_counters_,
                      [this, peer = std::move(peer)](WatchStream* done) {
                        limits_.Release(peer);
                        absl::MutexLock lock(&streams_mutex_);
                        // Counters never go down: an ended stream's coalesced
                        // events stay counted.
                        ended_coalesced_ += done->coalesced_total();
                        streams_.erase(done);
                      });
  if (stream->resync() != v1::RESYNC_REASON_UNSPECIFIED) {
    ++resyncs_[stream->resync()];
  }
  streams_.insert(stream);
  stream->Start();
  return stream;
}

grpc::ServerUnaryReactor* DomainServiceImpl::ReadXenstore(
    grpc::CallbackServerContext* context,
    const v1::ReadXenstoreRequest* request,
    v1::ReadXenstoreResponse* response) {
  if (auto s = ValidateReadXenstore(*request); !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  if (!reader_) {
    return FinishUnary(context,
                       grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                    "this agent has no xenstore connection"));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reader_->Read(request, response, [reactor](absl::Status status) {
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

void DomainServiceImpl::EndStreams() {
  absl::MutexLock lock(&streams_mutex_);
  ending_ = true;
  for (WatchStream* stream : streams_) {
    stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "xenlet is shutting down; resume from the last "
                             "revision received"));
  }
}

DomainServiceImpl::StreamStats DomainServiceImpl::stream_stats() const {
  absl::MutexLock lock(&streams_mutex_);
  StreamStats stats;
  stats.open = streams_.size();
  stats.coalesced_total = ended_coalesced_;
  stats.events_sent = watch_counters_.events_sent.load();
  stats.events_encoded = watch_counters_.events_encoded.load();
  stats.resyncs = resyncs_;
  stats.refused = limits_.refused();
  for (const WatchStream* stream : streams_) {
    stats.max_queued = std::max(stats.max_queued, stream->queued());
    stats.coalesced_total += stream->coalesced_total();
  }
  return stats;
}

size_t DomainServiceImpl::open_streams() const {
  absl::MutexLock lock(&streams_mutex_);
  return streams_.size();
}

}  // namespace xenlet::agent

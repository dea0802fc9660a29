#include "tools/bootstorm/query_load.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>

#include "absl/time/clock.h"
#include "xenlet/v1/domain_service.grpc.pb.h"

namespace xenlet::bootstorm {
namespace {

constexpr double kGrowth = 1.02;

size_t BucketOf(absl::Duration d) {
  const double us = std::max(1.0, absl::ToDoubleMicroseconds(d));
  return static_cast<size_t>(std::log(us) / std::log(kGrowth));
}

}  // namespace

void LatencyHistogram::Record(absl::Duration d) {
  ++buckets_[std::min(BucketOf(d), kBuckets - 1)];
  ++count_;
  max_ = std::max(max_, d);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

absl::Duration LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return absl::ZeroDuration();
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * count_)));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const absl::Duration edge =
          absl::Microseconds(std::pow(kGrowth, static_cast<double>(i + 1)));
      return std::min(edge, max_);
    }
  }
  return max_;
}

QueryLoad::QueryLoad(const std::string& target, int clients,
                     absl::Duration interval)
    : interval_(interval) {
  for (int i = 0; i < clients; ++i) {
    clients_.push_back(std::make_unique<Client>());
    Client* client = clients_.back().get();
    client->thread =
        std::thread([this, client, target] { Loop(client, target); });
  }
}

QueryLoad::~QueryLoad() { Stop(); }

void QueryLoad::Stop() {
  if (stop_.exchange(true)) return;
  for (auto& client : clients_) client->thread.join();
  end_ = absl::Now();
}

void QueryLoad::Loop(Client* client, const std::string& target) {
  // A channel of its own: one connection per client, as separate
  // processes would have.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto stub = v1::DomainService::NewStub(grpc::CreateCustomChannel(
      target, grpc::InsecureChannelCredentials(), args));
  absl::Time due = absl::Now();
  while (!stop_.load(std::memory_order_relaxed)) {
    if (interval_ > absl::ZeroDuration()) {
      // Paced: wait for the query's due time (a pacing delay, not
      // synchronisation), and count from it.
      if (due > absl::Now()) absl::SleepFor(due - absl::Now());
    } else {
      due = absl::Now();
    }
    const absl::Time start = due;
    due += interval_;
    v1::ListDomainsRequest request;
    request.set_page_size(1000);
    grpc::Status status;
    do {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(30));
      v1::ListDomainsResponse response;
      status = stub->ListDomains(&context, request, &response);
      request.set_page_token(response.next_page_token());
    } while (status.ok() && !request.page_token().empty());
    const absl::Duration took = absl::Now() - start;
    absl::MutexLock lock(&client->mutex);
    ++client->report.queries;
    if (status.ok()) {
      client->report.latency.Record(took);
    } else if (client->report.errors++ == 0) {
      client->report.first_error = status.error_message();
    }
  }
}

QueryLoadReport QueryLoad::Report() const {
  QueryLoadReport out;
  for (const auto& client : clients_) {
    absl::MutexLock lock(&client->mutex);
    out.queries += client->report.queries;
    out.errors += client->report.errors;
    if (out.first_error.empty()) out.first_error = client->report.first_error;
    out.latency.Merge(client->report.latency);
  }
  out.elapsed = (end_ == absl::InfiniteFuture() ? absl::Now() : end_) - start_;
  return out;
}

}  // namespace xenlet::bootstorm

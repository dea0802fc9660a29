#include "agent/host_service.h"

#include "agent/unary.h"
#include "agent/version.h"
#include "google/protobuf/util/time_util.h"

namespace xenlet::agent {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

google::protobuf::Duration ToProto(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

v1::XenstoreConnectionState ToProto(store::XenstoreState state) {
  switch (state) {
    case store::XenstoreState::kConnected:
      return v1::XENSTORE_CONNECTION_STATE_CONNECTED;
    case store::XenstoreState::kReconnecting:
      return v1::XENSTORE_CONNECTION_STATE_RECONNECTING;
    case store::XenstoreState::kResyncing:
      return v1::XENSTORE_CONNECTION_STATE_RESYNCING;
  }
  return v1::XENSTORE_CONNECTION_STATE_UNSPECIFIED;
}

void FillPhysInfo(const xen::PhysInfo& in, v1::PhysInfo* out) {
  out->set_nr_cpus(in.nr_cpus);
  out->set_threads_per_core(in.threads_per_core);
  out->set_cores_per_socket(in.cores_per_socket);
  const uint32_t per_socket = in.threads_per_core * in.cores_per_socket;
  out->set_nr_cores(in.threads_per_core ? in.nr_cpus / in.threads_per_core
                                        : in.nr_cpus);
  out->set_nr_sockets(per_socket ? in.nr_cpus / per_socket : 0);
  out->set_nr_nodes(in.nr_nodes);
  out->set_cpu_khz(in.cpu_khz);
  out->set_total_memory_bytes(in.total_bytes);
  out->set_free_memory_bytes(in.free_bytes);
  out->set_scrub_memory_bytes(in.scrub_bytes);
  if (in.cap_hvm) out->add_capabilities("hvm");
  if (in.cap_pv) out->add_capabilities("pv");
  if (in.cap_hap) out->add_capabilities("hap");
  if (in.cap_shadow) out->add_capabilities("shadow");
}

}  // namespace

HostServiceImpl::HostServiceImpl(HostSources sources)
    : sources_(std::move(sources)) {}

void HostServiceImpl::Describe(v1::Host* host) const {
  const absl::Time now = absl::Now();
  auto snapshot = sources_.store->snapshot();
  const absl::Time started =
      sources_.model ? sources_.model->start_time() : start_time_;

  v1::AgentInfo* agent = host->mutable_agent();
  agent->set_version(kVersion);
  agent->set_instance_id(sources_.store->instance_id());
  *agent->mutable_start_time() = ToProto(started);
  *agent->mutable_uptime() = ToProto(now - started);
  agent->set_revision(snapshot->revision);
  if (sources_.open_streams) agent->set_open_streams(sources_.open_streams());

  for (const auto& [state, count] : store::CountByState(*snapshot)) {
    v1::StateCount* entry = host->add_domains_by_state();
    entry->set_state(state);
    entry->set_count(count);
  }
  host->set_domains_total(snapshot->domains.size());

  if (store::DomainModel* model = sources_.model) {
    store::HostFacts facts = model->host_facts();
    FillPhysInfo(facts.physinfo, host->mutable_physinfo());
    v1::XenVersion* version = host->mutable_xen_version();
    version->set_major(facts.version.major);
    version->set_minor(facts.version.minor);
    version->set_extra(facts.version.extra);
    version->set_capabilities(facts.version.capabilities);

    store::SweepStats sweeps = model->sweeper().stats();
    v1::SweepInfo* sweep = host->mutable_sweep();
    *sweep->mutable_interval() = ToProto(model->sweep_interval());
    if (sweeps.sweeps > 0) {
      *sweep->mutable_last_time() = ToProto(sweeps.last_time);
      *sweep->mutable_last_duration() = ToProto(sweeps.last_duration);
    }
    sweep->set_sweeps_total(sweeps.sweeps);
    sweep->set_failures_total(sweeps.failures);
    store::Freshness freshness =
        store::SweepFreshness(sweeps, model->sweep_interval(), absl::Now());
    sweep->set_stale(freshness.stale);
    if (freshness.stale)
      *sweep->mutable_stale_since() = ToProto(freshness.since);
    sweep->set_consecutive_failures(sweeps.consecutive_failures);
    if (sweeps.consecutive_failures > 0)
      sweep->set_last_error(sweeps.last_error);
    sweep->set_repairs_total(model->reconciler().repairs().total());

    store::XenstoreWatcherStats watcher = model->watcher().stats();
    v1::XenstoreInfo* xenstore = host->mutable_xenstore();
    xenstore->set_state(ToProto(model->watcher().state()));
    xenstore->set_reconnects_total(watcher.reconnects);
    xenstore->set_watch_events_total(watcher.watch_events);
  }
  if (metrics::XenCallMetrics* calls = sources_.calls) {
    host->mutable_sweep()->set_hypercalls_total(calls->hypercalls_total());
    host->mutable_xenstore()->set_transactions_total(
        calls->transactions_total());
    host->mutable_xenstore()->set_requests_total(
        calls->xenstore_requests_total());
  }
}

grpc::ServerUnaryReactor* HostServiceImpl::GetHost(
    grpc::CallbackServerContext* context, const v1::GetHostRequest*,
    v1::Host* response) {
  Describe(response);
  return FinishUnary(context, grpc::Status::OK);
}

}  // namespace xenlet::agent

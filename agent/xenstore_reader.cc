#include "agent/xenstore_reader.h"

#include "absl/strings/str_cat.h"
#include "agent/grpc_status.h"
#include "xen/errno_status.h"

namespace xenlet::agent {

XenstoreReader::XenstoreReader(Connect connect,
                               std::vector<std::string> allowed_subtrees)
    : connect_(std::move(connect)),
      allowed_(std::move(allowed_subtrees)),
      worker_([this] { Loop(); }) {}

XenstoreReader::~XenstoreReader() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  worker_.join();
}

bool XenstoreReader::Allowed(const std::string& path) const {
  for (const std::string& subtree : allowed_) {
    if (path == subtree || (path.size() > subtree.size() &&
                            path.compare(0, subtree.size(), subtree) == 0 &&
                            path[subtree.size()] == '/')) {
      return true;
    }
  }
  return false;
}

void XenstoreReader::Read(const v1::ReadXenstoreRequest* request,
                          v1::ReadXenstoreResponse* response,
                          std::function<void(absl::Status)> done) {
  absl::MutexLock lock(&mutex_);
  if (stop_) {
    done(absl::UnavailableError("xenlet is shutting down"));
    return;
  }
  jobs_.push_back({request, response, std::move(done)});
}

void XenstoreReader::Loop() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this] {
        mutex_.AssertHeld();  // Await calls it with the lock held
        return stop_ || !jobs_.empty();
      };
      mutex_.Await(absl::Condition(&ready));
      if (jobs_.empty()) return;  // stopping, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job.done(Serve(job));
  }
}

absl::Status XenstoreReader::Serve(const Job& job) {
  const v1::ReadXenstoreRequest& request = *job.request;
  // The transaction covers the allowed paths; the others are answered
  // without touching xenstore.
  std::vector<int> allowed;
  for (int i = 0; i < request.paths_size(); ++i) {
    if (Allowed(request.paths(i))) allowed.push_back(i);
  }
  std::vector<v1::XenstoreResult> results(request.paths_size());
  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!client_) {
      auto client = connect_();
      if (!client.ok()) return client.status();
      client_ = std::move(*client);
    }
    if (allowed.empty()) break;
    status = xen::RunTransaction(
        *client_, [&](xen::XenstoreTransaction& txn) -> absl::Status {
          for (int i : allowed) {
            v1::XenstoreResult& result = results[i];
            result.Clear();
            auto value = txn.Read(request.paths(i));
            if (!value.ok()) {
              if (value.status().code() != absl::StatusCode::kNotFound) {
                return value.status();
              }
              SetItemStatus(value.status(), result.mutable_status());
              continue;
            }
            result.set_value(*value);
            if (request.list_children()) {
              auto children = txn.Directory(request.paths(i));
              if (!children.ok()) return children.status();
              for (auto& child : *children) result.add_children(child);
            }
            SetItemStatus(absl::OkStatus(), result.mutable_status());
          }
          return absl::OkStatus();
        });
    if (!xen::IsConnectionLost(status)) break;
    client_.reset();  // xenstored restarted: one more try on a new connection
  }
  if (!status.ok()) return status;
  for (int i = 0; i < request.paths_size(); ++i) {
    v1::XenstoreResult* result = job.response->add_results();
    *result = std::move(results[i]);
    result->set_path(request.paths(i));
    if (!Allowed(request.paths(i))) {
      SetItemStatus(absl::PermissionDeniedError(absl::StrCat(
                        request.paths(i),
                        " is outside the subtrees this agent serves "
                        "(--xenstore-read-allow)")),
                    result->mutable_status());
    }
  }
  return absl::OkStatus();
}

}  // namespace xenlet::agent

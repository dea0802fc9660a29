// Serves ReadXenstore: a batch of paths read in one transaction on the
// agent's own query connection to xenstored, on a worker thread (xenstore
// requests block; gRPC's callback threads must not). Only paths inside the
// allow-listed subtrees are read; anything else is PERMISSION_DENIED in its
// own result, so that no RPC reads arbitrary xenstore paths.
#ifndef XENLET_AGENT_XENSTORE_READER_H_
#define XENLET_AGENT_XENSTORE_READER_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "xen/xenstore.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::agent {

inline const std::vector<std::string> kDefaultXenstoreReadAllow = {
    "/local/domain", "/vm"};

class XenstoreReader {
 public:
  using Connect =
      std::function<absl::StatusOr<std::unique_ptr<xen::XenstoreClient>>()>;
  XenstoreReader(Connect connect, std::vector<std::string> allowed_subtrees);
  ~XenstoreReader();

  // Whether path is inside an allowed subtree (component-wise prefix).
  bool Allowed(const std::string& path) const;

  // Answers request (already validated) on the worker thread, then calls
  // done with the status of the call.
  void Read(const v1::ReadXenstoreRequest* request,
            v1::ReadXenstoreResponse* response,
            std::function<void(absl::Status)> done);

 private:
  struct Job {
    const v1::ReadXenstoreRequest* request;
    v1::ReadXenstoreResponse* response;
    std::function<void(absl::Status)> done;
  };
  void Loop();
  absl::Status Serve(const Job& job);

  const Connect connect_;
  const std::vector<std::string> allowed_;
  std::unique_ptr<xen::XenstoreClient> client_;  // worker thread only
  absl::Mutex mutex_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mutex_);
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread worker_;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_XENSTORE_READER_H_

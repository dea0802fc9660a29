// The TLS files the TCP listener serves, staged so that a reload is one
// checked decision. The configured files are read, checked (the chain and
// the key parse and belong together, the CA bundle parses) and copied into a
// private directory; gRPC's file watcher serves the staged copy. Reload()
// (on SIGHUP) does the same again and swaps the whole set in at once through
// a symlink, so a watcher never sees a new certificate with an old key. A
// bad renewal is refused with the reason and the old set stays served. Open
// connections keep the session they have: streams are not dropped.
#ifndef XENLET_AGENT_TLS_RELOADER_H_
#define XENLET_AGENT_TLS_RELOADER_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/tls_files.h"

namespace xenlet::agent {

// What a set of TLS files holds, once checked.
struct TlsMaterial {
  std::string cert_chain;  // PEM, as read
  std::string private_key;
  std::string client_ca;  // "" = no client CA configured
  absl::Time not_after;   // of the first (leaf) certificate
  std::string subject;    // of the leaf, for logs
};

// Reads and checks the three files; INVALID_ARGUMENT naming the flag of the
// file at fault (unreadable, not PEM, key not the certificate's).
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files);

class TlsReloader {
 public:
  // How often gRPC's watcher re-reads the staged copy: a reload is served
  // to new connections within this.
  static constexpr absl::Duration kStagedPollInterval = absl::Seconds(1);

  // Checks and stages the configured files in a new directory made under
  // files.staging_parent (0700; the files in it 0600).
  static absl::StatusOr<std::unique_ptr<TlsReloader>> Create(
      const TlsFiles& files);
  ~TlsReloader();  // removes the staging directory

  struct Outcome {
    bool changed = false;  // false: the files hold what is already served
    absl::Time not_after;
    std::string subject;
  };
  // Reads the configured files again. Changed and good: staged and swapped
  // in. Unchanged: nothing done. Bad: the error, and the old set stays.
  absl::StatusOr<Outcome> Reload();

  // Credentials serving the staged set: a client certificate is verified
  // if presented (with a client CA), never required.
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;

  const std::string& staging_dir() const { return dir_; }
  absl::Time not_after() const;

 private:
  TlsReloader(std::string cert_file, std::string key_file, std::string ca_file,
              std::string dir);
  absl::Status Stage(const TlsMaterial& material);

  const std::string cert_file_, key_file_, ca_file_;  // as configured
  const std::string dir_;                             // the staging directory
  mutable absl::Mutex mu_;
  TlsMaterial served_ ABSL_GUARDED_BY(mu_);
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_TLS_RELOADER_H_

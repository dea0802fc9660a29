// The TLS configuration of the TCP listener, as the flags give it.
#ifndef XENLET_AGENT_TLS_FILES_H_
#define XENLET_AGENT_TLS_FILES_H_

#include <string>

namespace xenlet::agent {

struct TlsFiles {
  std::string cert_file;       // PEM server certificate chain
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA bundle: verify client certificates
                               // against it (a client without one may still
                               // query; control needs an authorised one)
  // Where the checked copy that is served lives (agent/tls_reloader.h);
  // "" = $TMPDIR, else /tmp.
  std::string staging_parent;
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

}  // namespace xenlet::agent

#endif  // XENLET_AGENT_TLS_FILES_H_

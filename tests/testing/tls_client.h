// A client of the agent's TLS listener, for tests of what it serves.
#ifndef XENLET_TESTS_TESTING_TLS_CLIENT_H_
#define XENLET_TESTS_TESTING_TLS_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace xenlet::testing {

// A channel to localhost:port that trusts ca_file, on a connection of its
// own (not shared with other channels): it sees the certificate served now.
std::shared_ptr<grpc::Channel> NewTlsChannel(const std::string& ca_file,
                                             int port);

// Whether ListDomains succeeds (within 2 s) over such a channel: whether
// the agent serves a certificate that ca_file verifies.
bool ListsOverTls(const std::string& ca_file, int port);

}  // namespace xenlet::testing

#endif  // XENLET_TESTS_TESTING_TLS_CLIENT_H_

// What xenletctl says after a failure: gRPC's connection errors rewritten to
// name the agent and the flags, and the next step for the agent's own
// refusals (their messages as agent/control_authorizer.cc words them).
#include "tools/xenletctl/error_hints.h"

#include <sstream>

#include "gtest/gtest.h"
#include "tools/xenletctl/errors.h"
#include "tools/xenletctl/exit_codes.h"

namespace xenlet::ctl {
namespace {

grpc::Status Unavailable(const std::string& last_error) {
  return grpc::Status(
      grpc::StatusCode::UNAVAILABLE,
      "failed to connect to all addresses; last error: " + last_error);
}

ConnectionOptions Socket(const std::string& path) {
  ConnectionOptions c;
  c.socket = path;
  return c;
}

ConnectionOptions Tcp(const std::string& address) {
  ConnectionOptions c;
  c.address = address;
  return c;
}

std::string Report(const std::string& method, const grpc::Status& status,
                   const ConnectionOptions& connection) {
  std::ostringstream err;
  EXPECT_EQ(ReportRpcError(err, method, status, connection), kExitRpcError);
  return err.str();
}

TEST(ErrorHints, AbsentSocket) {
  EXPECT_EQ(
      Report("GetHost",
             Unavailable("UNKNOWN: unix:/run/xenlet/xenlet.sock: No such file "
                         "or directory"),
             Socket("/run/xenlet/xenlet.sock")),
      "xenletctl: cannot reach xenlet at unix:/run/xenlet/xenlet.sock: No "
      "such file or directory.\n"
      "Is the agent running (systemctl status xenlet)? Use --socket PATH or "
      "--address HOST:PORT to point elsewhere.\n");
}

TEST(ErrorHints, NothingListening) {
  const grpc::Status refused = Unavailable(
      "UNKNOWN: ipv4:127.0.0.1:7443: Failed to connect to remote host: "
      "Connection refused");
  EXPECT_TRUE(IsUnreachable(refused));
  EXPECT_EQ(UnreachableReason(refused),
            "Failed to connect to remote host: Connection refused");
  EXPECT_EQ(Report("ListDomains", refused, Tcp("127.0.0.1:7443"))
                .rfind("xenletctl: cannot reach xenlet at 127.0.0.1:7443: "
                       "Failed to connect to remote host: Connection "
                       "refused.\nIs the agent running",
                       0),
            0u);
  EXPECT_EQ(UnreachableReason(
                Unavailable("UNKNOWN: ipv6:[::1]:7443: Connection refused")),
            "Connection refused");
}

TEST(ErrorHints, SocketPermissions) {
  const std::string text =
      Report("ListDomains",
             Unavailable("UNKNOWN: unix:/nonexistent/x.sock: Permission "
                         "denied"),
             Socket("/nonexistent/x.sock"));
  EXPECT_EQ(text.rfind("xenletctl: cannot reach xenlet at "
                       "unix:/nonexistent/x.sock: Permission denied.\n",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("run as root (sudo), or as a member of the socket's "
                      "group (the agent's --socket-group"),
            std::string::npos)
      << text;
}

TEST(ErrorHints, SocketPermissionsNameTheGroup) {
  // "/" exists; its group is the one named.
  const std::string step =
      NextStep("GetHost", Unavailable("UNKNOWN: unix:/: Permission denied"),
               Socket("/"));
  EXPECT_NE(step.find("member of the socket's group '"), std::string::npos)
      << step;
}

TEST(ErrorHints, TlsHandshake) {
  const grpc::Status tls = Unavailable(
      "UNKNOWN: ipv4:127.0.0.1:7443: Ssl handshake failed: SSL_ERROR_SSL: "
      "error:1000007d:SSL routines:OPENSSL_internal:"
      "CERTIFICATE_VERIFY_FAILED");
  EXPECT_TRUE(IsUnreachable(tls));
  EXPECT_NE(NextStep("GetHost", tls, Tcp("127.0.0.1:7443")).find("--tls-ca"),
            std::string::npos);
}

TEST(ErrorHints, TheAgentsOwnUnavailableReachedIt) {
  const grpc::Status s(grpc::StatusCode::UNAVAILABLE,
                       "this agent has no hypervisor to act on");
  EXPECT_FALSE(IsUnreachable(s));
  EXPECT_EQ(Report("pause", s, Socket("/x")),
            "xenletctl: pause: UNAVAILABLE: this agent has no hypervisor to "
            "act on\n");
}

TEST(ErrorHints, ControlDisabled) {
  const grpc::Status s(grpc::StatusCode::PERMISSION_DENIED,
                       "control RPCs are disabled on this agent (start it "
                       "with --enable-control)");
  EXPECT_EQ(Report("pause", s, Socket("/x")),
            "xenletctl: pause: PERMISSION_DENIED: control RPCs are disabled "
            "on this agent (start it with --enable-control)\n"
            "pause, unpause, shutdown and destroy need an agent started with "
            "--enable-control: add it to the agent's flags and restart it "
            "(systemctl restart xenlet).\n");
}

TEST(ErrorHints, ControlCallerNotAllowed) {
  const grpc::Status uid(grpc::StatusCode::PERMISSION_DENIED,
                         "uid 1000 (gid 1000) is not allowed control RPCs on "
                         "the unix socket (--control-uid/--control-gid)");
  EXPECT_NE(NextStep("destroy", uid, Socket("/x")).find("root (sudo)"),
            std::string::npos);
  const grpc::Status cert(grpc::StatusCode::PERMISSION_DENIED,
                          "the client certificate is not authorised for "
                          "control RPCs (--control-client)");
  EXPECT_NE(NextStep("shutdown", cert, Tcp("h:1")).find("--control-client"),
            std::string::npos);
  const grpc::Status none(grpc::StatusCode::UNAUTHENTICATED,
                          "control RPCs over TCP need a TLS client "
                          "certificate (--tls-cert/--tls-key in xenletctl)");
  const std::string step = NextStep("unpause", none, Tcp("h:1"));
  EXPECT_NE(step.find("--tls-cert/--tls-key"), std::string::npos) << step;
  EXPECT_NE(step.find("--control-client"), std::string::npos) << step;
  // An unknown wording still names every flag that decides.
  const grpc::Status other(grpc::StatusCode::PERMISSION_DENIED, "no");
  EXPECT_NE(NextStep("pause", other, Socket("/x")).find("--control-uid"),
            std::string::npos);
}

TEST(ErrorHints, QueriesAndStreams) {
  EXPECT_NE(NextStep("ListDomains",
                     grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                  "Deadline Exceeded"),
                     Socket("/x"))
                .find("--timeout"),
            std::string::npos);
  EXPECT_NE(NextStep("WatchDomains",
                     grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "too many streams"),
                     Socket("/x"))
                .find("--max-streams"),
            std::string::npos);
  EXPECT_EQ(NextStep("GetDomains",
                     grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad"),
                     Socket("/x")),
            "");
}

TEST(ErrorHints, UsageErrorsPointToTheVerbsHelp) {
  std::ostringstream err;
  EXPECT_EQ(ReportUsageError(err, "list",
                             absl::InvalidArgumentError("--state: 'x' ...")),
            kExitUsage);
  EXPECT_EQ(err.str(),
            "xenletctl: --state: 'x' ...\n"
            "Run 'xenletctl list --help' for usage and examples.\n");
  EXPECT_EQ(UsageHint(""), "Run 'xenletctl --help' for usage and examples.");
}

}  // namespace
}  // namespace xenlet::ctl

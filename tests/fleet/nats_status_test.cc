// fleet/nats/nats_status: libnats's statuses and JetStream's error codes as
// absl::Status, without a server.
#include "fleet/nats/nats_status.h"

#include <string>

#include "gtest/gtest.h"

namespace xenlet::fleet::nats {
namespace {

TEST(NatsStatusTest, Codes) {
  EXPECT_EQ(NatsStatusCode(NATS_OK), absl::StatusCode::kOk);
  EXPECT_EQ(NatsStatusCode(NATS_TIMEOUT), absl::StatusCode::kDeadlineExceeded);
  for (natsStatus s :
       {NATS_CONNECTION_CLOSED, NATS_NO_SERVER, NATS_CONNECTION_DISCONNECTED,
        NATS_STALE_CONNECTION, NATS_NO_RESPONDERS}) {
    EXPECT_EQ(NatsStatusCode(s), absl::StatusCode::kUnavailable)
        << natsStatus_GetText(s);
  }
  EXPECT_EQ(NatsStatusCode(NATS_NOT_FOUND), absl::StatusCode::kNotFound);
  EXPECT_EQ(NatsStatusCode(NATS_INVALID_ARG),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NatsStatusCode(NATS_CONNECTION_AUTH_FAILED),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(NatsStatusCode(NATS_NOT_PERMITTED),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(NatsStatusCode(NATS_SSL_ERROR),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(NatsStatusCode(NATS_PROTOCOL_ERROR), absl::StatusCode::kInternal);
  EXPECT_EQ(NatsStatusCode(NATS_ERR), absl::StatusCode::kUnknown);
}

TEST(NatsStatusTest, JetStreamCodesWin) {
  EXPECT_EQ(JsErrorCode(JSStreamNotFoundErr), absl::StatusCode::kNotFound);
  EXPECT_EQ(JsErrorCode(JSStreamWrongLastSequenceErr),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(JsErrorCode(static_cast<jsErrCode>(1)), absl::StatusCode::kUnknown);
  absl::Status s = NatsError(NATS_ERR, "js_AddStream S", JSStreamNameExistErr);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "nats: js_AddStream S: Error [jsErrCode 10058]");
}

TEST(NatsStatusTest, MessageSaysWhatFailed) {
  EXPECT_TRUE(NatsError(NATS_OK, "anything").ok());
  absl::Status s =
      NatsError(NATS_TIMEOUT, "js_Publish to xenlet.events.h1",
                static_cast<jsErrCode>(0), "no JetStream answer in 5s");
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.message(),
            "nats: js_Publish to xenlet.events.h1: Timeout (no JetStream "
            "answer in 5s)");
}

TEST(NatsStatusTest, IncludesTheLastErrorOfTheSameStatus) {
  // libnats's own failure sets the thread's last error.
  natsOptions* opts = nullptr;
  ASSERT_EQ(natsOptions_Create(&opts), NATS_OK);
  natsStatus s = natsOptions_LoadCATrustedCertificates(opts, "/nonexistent");
  natsOptions_Destroy(opts);
  ASSERT_NE(s, NATS_OK);
  absl::Status status = NatsError(s, "TLS CA /nonexistent");
  EXPECT_NE(std::string(status.message()).find("/nonexistent': "),
            std::string::npos)
      << status;
  // ... but not the last error of another status.
  EXPECT_EQ(NatsError(NATS_TIMEOUT, "x").message(), "nats: x: Timeout");
}

TEST(NatsStatusTest, NoRespondersDropsLibnatsGuessedCode) {
  absl::Status s = NatsError(NATS_NO_RESPONDERS, "js_Publish to a",
                             JSNotEnabledErr, "detail");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(),
            "nats: js_Publish to a: No responders available for request "
            "(detail)");
}

}  // namespace
}  // namespace xenlet::fleet::nats

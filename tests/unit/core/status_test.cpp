#include "core/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace kr {
namespace {

const std::vector<ErrorCode>& all_codes() {
  static const std::vector<ErrorCode> codes = {
      ErrorCode::kOk,          ErrorCode::kInvalidArgument,    ErrorCode::kNotFound,
      ErrorCode::kAlreadyExists, ErrorCode::kFailedPrecondition, ErrorCode::kUnsupported,
      ErrorCode::kEncrypted,   ErrorCode::kCorruptInput,       ErrorCode::kTooLarge,
      ErrorCode::kResourceExhausted, ErrorCode::kDeadlineExceeded, ErrorCode::kUnauthenticated,
      ErrorCode::kPermissionDenied,      ErrorCode::kUnavailable, ErrorCode::kCancelled,          ErrorCode::kDataCorruption,
      ErrorCode::kInternal};
  return codes;
}

TEST(ErrorCodeName, EveryCodeHasItsOwnSnakeCaseName) {
  EXPECT_EQ(error_code_name(ErrorCode::kOk), "ok");
  EXPECT_EQ(error_code_name(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(error_code_name(ErrorCode::kNotFound), "not_found");
  EXPECT_EQ(error_code_name(ErrorCode::kAlreadyExists), "already_exists");
  EXPECT_EQ(error_code_name(ErrorCode::kFailedPrecondition), "failed_precondition");
  EXPECT_EQ(error_code_name(ErrorCode::kUnsupported), "unsupported");
  EXPECT_EQ(error_code_name(ErrorCode::kEncrypted), "encrypted");
  EXPECT_EQ(error_code_name(ErrorCode::kCorruptInput), "corrupt_input");
  EXPECT_EQ(error_code_name(ErrorCode::kTooLarge), "too_large");
  EXPECT_EQ(error_code_name(ErrorCode::kResourceExhausted), "resource_exhausted");
  EXPECT_EQ(error_code_name(ErrorCode::kDeadlineExceeded), "deadline_exceeded");
  EXPECT_EQ(error_code_name(ErrorCode::kUnauthenticated), "unauthenticated");
  EXPECT_EQ(error_code_name(ErrorCode::kPermissionDenied), "permission_denied");
  EXPECT_EQ(error_code_name(ErrorCode::kUnavailable), "unavailable");
  EXPECT_EQ(error_code_name(ErrorCode::kCancelled), "cancelled");
  EXPECT_EQ(error_code_name(ErrorCode::kDataCorruption), "data_corruption");
  EXPECT_EQ(error_code_name(ErrorCode::kInternal), "internal");

  std::set<std::string_view> names;
  for (ErrorCode code : all_codes()) {
    const std::string_view name = error_code_name(code);
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    for (char c : name) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << name;
  }
  EXPECT_EQ(names.size(), all_codes().size());
}

TEST(ErrorCodeName, OutOfRangeValueFallsBackToInternal) {
  EXPECT_EQ(error_code_name(static_cast<ErrorCode>(999)), "internal");
}

TEST(Status, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.is_ok());
  EXPECT_TRUE(static_cast<bool>(status));
  EXPECT_EQ(status.code(), ErrorCode::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.to_string(), "ok");
  EXPECT_TRUE(Status::ok().is_ok());
}

TEST(Status, ErrorCarriesCodeAndMessage) {
  Status status = error(ErrorCode::kNotFound, "collection 'x' does not exist");
  EXPECT_FALSE(status.is_ok());
  EXPECT_FALSE(static_cast<bool>(status));
  EXPECT_EQ(status.code(), ErrorCode::kNotFound);
  EXPECT_EQ(status.message(), "collection 'x' does not exist");
  EXPECT_EQ(status.to_string(), "not_found: collection 'x' does not exist");
}

TEST(Status, ToStringForEveryErrorCode) {
  for (ErrorCode code : all_codes()) {
    if (code == ErrorCode::kOk) continue;
    Status status(code, "m");
    EXPECT_EQ(status.to_string(), std::string(error_code_name(code)) + ": m");
  }
}

TEST(Result, HoldsAValue) {
  Result<std::string> result(std::string("hello"));
  ASSERT_TRUE(result.is_ok());
  EXPECT_TRUE(static_cast<bool>(result));
  EXPECT_EQ(result.value(), "hello");
  EXPECT_EQ(*result, "hello");
  EXPECT_EQ(result->size(), 5u);
  EXPECT_TRUE(result.status().is_ok());
  result.value() += "!";
  EXPECT_EQ(*result, "hello!");
  const Result<std::string>& const_ref = result;
  EXPECT_EQ(const_ref->size(), 6u);
  EXPECT_EQ(*const_ref, "hello!");
}

TEST(Result, HoldsAnError) {
  Result<int> result = error(ErrorCode::kTooLarge, "too big");
  EXPECT_FALSE(result.is_ok());
  EXPECT_FALSE(static_cast<bool>(result));
  EXPECT_EQ(result.status().code(), ErrorCode::kTooLarge);
  EXPECT_EQ(result.status().message(), "too big");
}

TEST(Result, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> result(std::make_unique<int>(42));
  ASSERT_TRUE(result.is_ok());
  std::unique_ptr<int> owned = std::move(result).value();
  ASSERT_NE(owned, nullptr);
  EXPECT_EQ(*owned, 42);
}

TEST(Result, ValueThatLooksLikeAStatusIsStillAValue) {
  // Result<Status>-like corner: a value type constructible from many things still stores the value.
  Result<std::vector<int>> result(std::vector<int>{1, 2, 3});
  ASSERT_TRUE(result.is_ok());
  EXPECT_EQ(result->size(), 3u);
}

Status fails_with(ErrorCode code) { return code == ErrorCode::kOk ? Status::ok() : error(code, "inner"); }

int g_reached = 0;

Status chain(ErrorCode first, ErrorCode second) {
  g_reached = 0;
  KR_RETURN_IF_ERROR(fails_with(first));
  g_reached = 1;
  KR_RETURN_IF_ERROR(fails_with(second));
  g_reached = 2;
  return Status::ok();
}

Result<int> chain_result(ErrorCode code) {
  KR_RETURN_IF_ERROR(fails_with(code));
  return 7;
}

TEST(ReturnIfError, PassesOkThroughAndReturnsTheFirstError) {
  EXPECT_TRUE(chain(ErrorCode::kOk, ErrorCode::kOk).is_ok());
  EXPECT_EQ(g_reached, 2);

  Status status = chain(ErrorCode::kUnavailable, ErrorCode::kInternal);
  EXPECT_EQ(status.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(status.message(), "inner");
  EXPECT_EQ(g_reached, 0);

  status = chain(ErrorCode::kOk, ErrorCode::kDataCorruption);
  EXPECT_EQ(status.code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(g_reached, 1);
}

TEST(ReturnIfError, WorksInFunctionsReturningResult) {
  auto ok = chain_result(ErrorCode::kOk);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(*ok, 7);
  auto failed = chain_result(ErrorCode::kNotFound);
  ASSERT_FALSE(failed.is_ok());
  EXPECT_EQ(failed.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(failed.status().message(), "inner");
}

TEST(ReturnIfError, EvaluatesTheExpressionOnce) {
  int calls = 0;
  auto once = [&]() -> Status {
    KR_RETURN_IF_ERROR((++calls, Status::ok()));
    return Status::ok();
  };
  EXPECT_TRUE(once().is_ok());
  EXPECT_EQ(calls, 1);
}

TEST(ReturnIfError, IsASingleStatementInIfElse) {
  auto f = [](bool early) -> Status {
    if (early)
      KR_RETURN_IF_ERROR(error(ErrorCode::kCancelled, "early"));
    else
      return error(ErrorCode::kInternal, "else branch");
    return Status::ok();
  };
  EXPECT_EQ(f(true).code(), ErrorCode::kCancelled);
  EXPECT_EQ(f(false).code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace kr

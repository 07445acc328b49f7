#include "farmserver/prs/validation_state.h"

#include <gtest/gtest.h>

namespace cifs {
namespace {

TEST(ValidationStateTest, NamesAreTheRecordsAndTheWiresAndReadBack) {
  for (auto s : {ValidationState::kPending, ValidationState::kRunning, ValidationState::kPassed,
                 ValidationState::kFailed, ValidationState::kConflicted, ValidationState::kError}) {
    EXPECT_EQ(ParseValidationState(ValidationStateName(s)), s) << ValidationStateName(s);
  }
  // What older farms wrote, and what clients and the web UI show.
  EXPECT_EQ(ValidationStateName(ValidationState::kPassed), "passed");
  EXPECT_EQ(ValidationStateName(ValidationState::kConflicted), "conflicted");
  EXPECT_FALSE(ParseValidationState("").has_value());
  EXPECT_FALSE(ParseValidationState("Passed").has_value());
}

TEST(ValidationStateTest, OnlyPendingAndRunningAreUndecidedAndOnlyPassedIsGreen) {
  EXPECT_TRUE(Undecided("pending"));
  EXPECT_TRUE(Undecided("running"));
  for (const char* decided : {"passed", "failed", "conflicted", "error"}) EXPECT_FALSE(Undecided(decided)) << decided;
  EXPECT_FALSE(Undecided("")) << "a record without a state is not run again forever";
  EXPECT_FALSE(Undecided("paused")) << "an unknown state is not waited for";
  EXPECT_TRUE(Green("passed"));
  for (const char* red : {"pending", "running", "failed", "conflicted", "error", "", "passed "}) {
    EXPECT_FALSE(Green(red)) << red;
  }
}

}  // namespace
}  // namespace cifs

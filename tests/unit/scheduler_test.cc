#include "farmserver/exec/scheduler.h"

#include <gtest/gtest.h>

#include <thread>

namespace cifs {
namespace {

using namespace std::chrono_literals;

ExecTask Task(const std::string& hash_char, bool do_not_cache = false, PlatformProps platform = {}) {
  ExecTask t;
  t.action_digest = {std::string(64, hash_char[0]), 10};
  t.action.set_do_not_cache(do_not_cache);
  t.platform = std::move(platform);
  return t;
}

auto Soon() { return std::chrono::steady_clock::now() + 50ms; }

const PlatformProps kLinux = {{"OSFamily", "Linux"}};

TEST(OpStageTest, TransitionsFollowTheLifeOfAnOperation) {
  EXPECT_EQ(NextOpStage(OpStage::kQueued, OpEvent::kAssigned), OpStage::kExecuting);
  EXPECT_EQ(NextOpStage(OpStage::kExecuting, OpEvent::kWorkerLost), OpStage::kQueued);
  EXPECT_EQ(NextOpStage(OpStage::kExecuting, OpEvent::kDeclined), OpStage::kQueued);
  EXPECT_EQ(NextOpStage(OpStage::kQueued, OpEvent::kDeclined), std::nullopt);
  EXPECT_EQ(NextOpStage(OpStage::kExecuting, OpEvent::kAnswered), OpStage::kCompleted);
  EXPECT_EQ(NextOpStage(OpStage::kQueued, OpEvent::kFailed), OpStage::kCompleted);
  // A late answer, or anything after completion, changes nothing.
  EXPECT_EQ(NextOpStage(OpStage::kQueued, OpEvent::kAnswered), std::nullopt);
  EXPECT_EQ(NextOpStage(OpStage::kCompleted, OpEvent::kAssigned), std::nullopt);
  EXPECT_EQ(NextOpStage(OpStage::kCompleted, OpEvent::kWorkerLost), std::nullopt);
}

TEST(SchedulerTest, PlatformsFitWhenTheWorkerOffersEveryAskedProperty) {
  EXPECT_TRUE(PlatformFits({}, kLinux));
  EXPECT_TRUE(PlatformFits(kLinux, {{"OSFamily", "Linux"}, {"pool", "big"}}));
  EXPECT_FALSE(PlatformFits({{"OSFamily", "Windows"}}, kLinux));
  EXPECT_FALSE(PlatformFits({{"OSFamily", "Linux"}, {"gpu", "1"}}, kLinux));
}

TEST(SchedulerTest, AnActionNoWorkerCanRunIsRefusedAtOnce) {
  Scheduler s({.platforms = {kLinux}});
  auto op = s.Submit(Task("a", false, {{"OSFamily", "Windows"}}));
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(op.status().message().find("OSFamily=Windows"), std::string::npos);
}

TEST(SchedulerTest, IdenticalActionsInFlightShareOneOperationUnlessNotCacheable) {
  Scheduler s({.platforms = {kLinux}});
  auto a = s.Submit(Task("a"));
  auto b = s.Submit(Task("a"));
  auto c = s.Submit(Task("a", /*do_not_cache=*/true));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(a->get(), c->get());
  EXPECT_EQ(s.Stats().queued, 2u);
  EXPECT_EQ(s.Stats().deduplicated, 1u);
}

TEST(SchedulerTest, ActionsWhoseResultsOnlyTheirCallerTrustsAreNotShared) {
  Scheduler s({.platforms = {kLinux}});
  ExecTask alice = Task("n"), bob = Task("n");
  alice.result_tier = "user/alice";
  bob.result_tier = "user/bob";
  auto a = s.Submit(alice);
  auto b = s.Submit(bob);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->get(), b->get());
}

TEST(SchedulerTest, AWorkerTakesWhatItsPlatformFitsAndItsAnswerReachesWaiters) {
  Scheduler s({.platforms = {kLinux, {{"gpu", "1"}}}});
  auto gpu = s.Submit(Task("g", false, {{"gpu", "1"}}));
  auto plain = s.Submit(Task("p"));
  ASSERT_TRUE(gpu.ok() && plain.ok());
  auto taken = s.Take("w1", kLinux, Soon());
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken.get(), plain->get());  // the gpu action is older but does not fit
  EXPECT_EQ(s.Wait(*taken, 0, Soon()).stage, OpStage::kExecuting);

  std::thread waiter([&] {
    OpView v = s.Wait(*taken, 1, std::chrono::steady_clock::now() + 5s);
    EXPECT_EQ(v.stage, OpStage::kCompleted);
    EXPECT_EQ(v.response.result().exit_code(), 3);
  });
  re::ExecuteResponse r;
  r.mutable_result()->set_exit_code(3);
  EXPECT_TRUE(s.Answer(taken, "w1", r));
  waiter.join();
  // Completed: findable for WaitExecution, and a new identical action runs again.
  EXPECT_EQ(s.Find(taken->name()), taken);
  auto again = s.Submit(Task("p"));
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->get(), taken.get());
}

TEST(SchedulerTest, ALostWorkersActionRunsElsewhereThenFailsAfterMaxAttempts) {
  Scheduler s({.max_attempts = 2, .platforms = {kLinux}});
  auto op = s.Submit(Task("a"));
  ASSERT_TRUE(op.ok());
  auto first = s.Take("w1", kLinux, Soon());
  ASSERT_TRUE(first);
  s.Lost(first, "w1", "killed");
  auto second = s.Take("w2", kLinux, Soon());
  ASSERT_EQ(second, first);
  // w1's late answer is refused: w2 holds it now.
  EXPECT_FALSE(s.Answer(first, "w1", re::ExecuteResponse()));
  s.Lost(second, "w2", "killed again");
  OpView v = s.Wait(**op, 0, Soon());
  EXPECT_EQ(v.stage, OpStage::kCompleted);
  EXPECT_EQ(v.response.status().code(), 14);
  EXPECT_NE(v.response.status().message().find("killed again"), std::string::npos);
  EXPECT_EQ(s.Stats().retried, 1u);
}

TEST(SchedulerTest, ADeclinedActionGoesFirstToTheNextWorkerAndCostsNoAttempt) {
  Scheduler s({.max_attempts = 1, .platforms = {kLinux}});
  auto a = s.Submit(Task("a"));
  auto b = s.Submit(Task("b"));
  ASSERT_TRUE(a.ok() && b.ok());
  auto first = s.Take("node2/w1", kLinux, Soon());
  ASSERT_EQ(first, *a);
  // Only the worker that holds it can decline it.
  s.Declined(first, "node3/w1");
  EXPECT_EQ(s.Wait(**a, 0, Soon()).stage, OpStage::kExecuting);
  s.Declined(first, "node2/w1");
  EXPECT_EQ(s.Wait(**a, 0, Soon()).stage, OpStage::kQueued);
  // Ahead of b, and with max_attempts 1 a loss now still gets no retry:
  // the decline did not count as an attempt.
  auto again = s.Take("node1/w1", kLinux, Soon());
  ASSERT_EQ(again, *a);
  s.Lost(again, "node1/w1", "killed");
  OpView v = s.Wait(**a, 0, Soon());
  EXPECT_EQ(v.stage, OpStage::kCompleted);
  EXPECT_NE(v.response.status().message().find("gave up after 1"), std::string::npos);
  EXPECT_EQ(s.Stats().retried, 0u);
}

TEST(SchedulerTest, WhatNobodyWaitsForIsCancelled) {
  Scheduler s({.abandon_after = 0ms, .platforms = {kLinux}});
  auto queued = s.Submit(Task("q"));
  auto running = s.Submit(Task("r"));
  ASSERT_TRUE(queued.ok() && running.ok());
  s.Watch(**running);
  auto taken = s.Take("w1", kLinux, Soon());
  ASSERT_EQ(taken.get(), queued->get());  // the older one
  s.Watch(*taken);
  ASSERT_EQ(s.Take("w2", kLinux, Soon()).get(), running->get());
  std::this_thread::sleep_for(2ms);
  s.ReapAbandoned();
  // Both are followed: nothing happens.
  EXPECT_FALSE(s.CancelRequested(**queued));
  EXPECT_FALSE(s.CancelRequested(**running));
  s.Unwatch(**running);
  std::this_thread::sleep_for(2ms);
  s.ReapAbandoned();
  EXPECT_TRUE(s.CancelRequested(**running));  // its worker is told
  EXPECT_FALSE(s.CancelRequested(**queued));
  // One queued and never followed completes as CANCELLED at once.
  auto orphan = s.Submit(Task("o"));
  ASSERT_TRUE(orphan.ok());
  std::this_thread::sleep_for(2ms);
  s.ReapAbandoned();
  OpView v = s.Wait(**orphan, 0, Soon());
  EXPECT_EQ(v.stage, OpStage::kCompleted);
  EXPECT_EQ(v.response.status().code(), 1);
  EXPECT_EQ(s.Stats().cancelled, 2u);
}

TEST(SchedulerTest, CompletedOperationsAreFoundForWaitExecutionUntilKeepDone) {
  Scheduler keep({.platforms = {kLinux}});
  Scheduler forget({.keep_done = 0s, .platforms = {kLinux}});
  std::vector<std::string> names;
  for (Scheduler* s : {&keep, &forget}) {
    ASSERT_TRUE(s->Submit(Task("a")).ok());
    auto taken = s->Take("w1", kLinux, Soon());
    ASSERT_TRUE(taken);
    ASSERT_TRUE(s->Answer(taken, "w1", re::ExecuteResponse()));
    names.push_back(taken->name());
  }
  std::this_thread::sleep_for(2ms);
  EXPECT_NE(keep.Find(names[0]), nullptr);
  EXPECT_EQ(forget.Find(names[1]), nullptr);
  // What is not completed stays, however old.
  auto queued = forget.Submit(Task("b"));
  ASSERT_TRUE(queued.ok());
  std::this_thread::sleep_for(2ms);
  EXPECT_EQ(forget.Find((*queued)->name()), *queued);
}

TEST(SchedulerTest, ShutdownFailsWhatIsQueuedAndReleasesWorkers) {
  Scheduler s({.platforms = {kLinux}});
  auto op = s.Submit(Task("a"));
  ASSERT_TRUE(op.ok());
  s.Shutdown();
  EXPECT_EQ(s.Wait(**op, 0, Soon()).stage, OpStage::kCompleted);
  EXPECT_EQ(s.Take("w1", kLinux, std::chrono::steady_clock::now() + 10s), nullptr);
  EXPECT_FALSE(s.Submit(Task("b")).ok());
}

}  // namespace
}  // namespace cifs

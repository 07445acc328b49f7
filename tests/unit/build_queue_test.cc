#include "farmserver/builds/build_queue.h"

#include <gtest/gtest.h>

#include <thread>

namespace cifs {
namespace {

constexpr std::chrono::milliseconds kNoWait{0};

TEST(BuildQueue, LimitsRunningBuildsAndReportsPositions) {
  BuildQueue q(1);
  auto a = q.Enqueue("ws-a");
  auto b = q.Enqueue("ws-b");
  auto c = q.Enqueue("ws-c");
  EXPECT_EQ(a->Wait(kNoWait), 0);
  EXPECT_EQ(b->Wait(kNoWait), 1);
  EXPECT_EQ(c->Wait(kNoWait), 2);
  EXPECT_EQ(q.running(), 1);
  a.reset();  // finished
  EXPECT_EQ(b->Wait(kNoWait), 0);
  EXPECT_EQ(c->Wait(kNoWait), 1);
}

TEST(BuildQueue, OneBuildPerWorkspaceOthersPass) {
  BuildQueue q(2);
  auto a1 = q.Enqueue("ws-a");
  auto a2 = q.Enqueue("ws-a");
  auto b = q.Enqueue("ws-b");
  EXPECT_EQ(a1->Wait(kNoWait), 0);
  EXPECT_EQ(a2->Wait(kNoWait), 1);  // same workspace: waits although a slot is free
  EXPECT_EQ(b->Wait(kNoWait), 0);   // another workspace takes the free slot
  a1.reset();
  EXPECT_EQ(a2->Wait(kNoWait), 0);
}

TEST(BuildQueue, LeavingTheQueueMovesOthersUp) {
  BuildQueue q(1);
  auto a = q.Enqueue("ws-a");
  auto b = q.Enqueue("ws-b");
  auto c = q.Enqueue("ws-c");
  b.reset();  // cancelled while waiting
  EXPECT_EQ(c->Wait(kNoWait), 1);
  EXPECT_EQ(q.waiting(), 1);
}

TEST(BuildQueue, WaitReturnsWhenASlotFrees) {
  BuildQueue q(1);
  auto a = q.Enqueue("ws-a");
  auto b = q.Enqueue("ws-b");
  std::thread finisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    a.reset();
  });
  EXPECT_EQ(b->Wait(std::chrono::seconds(10)), 0);
  finisher.join();
}

}  // namespace
}  // namespace cifs

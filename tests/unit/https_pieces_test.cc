// The HTTPS side's pieces that need no socket: request parsing helpers, the
// bounded handler pool, and the broadcaster that feeds every live page.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "common/task_pool.h"
#include "farmserver/http/change_broadcaster.h"
#include "farmserver/http/http_message.h"

namespace cifs {
namespace {

TEST(HttpRequestTest, ParamsAreFormDecodedAndHeadersCaseInsensitive) {
  HttpRequest req;
  req.target = "/login?x=1&token=a%2Fb+c&empty=&broken=%zz&last";
  req.headers = {{"Cookie", "a=1"}, {"cookie", "b=2"}, {"X-Thing", "v"}};
  EXPECT_EQ(req.Param("token"), "a/b c");
  EXPECT_EQ(req.Param("x"), "1");
  EXPECT_EQ(req.Param("empty"), "");
  EXPECT_EQ(req.Param("broken"), "%zz");
  EXPECT_EQ(req.Param("last"), "");
  EXPECT_EQ(req.Param("missing"), "");
  EXPECT_EQ(req.Header("x-thing"), "v");
  EXPECT_TRUE(req.HasHeader("COOKIE"));
  EXPECT_EQ(req.HeaderValues("cookie").size(), 2u);
  HttpResponse res;
  res.SetHeader("Location", "/a");
  res.Redirect("/b", 303);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].second, "/b");
  EXPECT_EQ(res.status, 303);
}

TEST(TaskPoolTest, RefusesPastItsQueueAndDropsWhatWaitsAtStop) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> ran{0};
  TaskPool pool(1, 2);
  auto blocked = [&] {
    gate.wait();
    ran++;
  };
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.set_value();
    blocked();
  }));
  started.get_future().wait();  // the thread holds it: the queue is empty
  EXPECT_TRUE(pool.TrySubmit(blocked));
  EXPECT_TRUE(pool.TrySubmit(blocked));
  EXPECT_FALSE(pool.TrySubmit(blocked)) << "a third waiting task is over the bound of 2";
  std::thread stopper([&] { pool.Stop(); });  // waits for the running task
  EXPECT_EQ(pool.waiting(), 2u);
  while (pool.waiting() > 0) std::this_thread::yield();  // Stop cleared the queue
  release.set_value();
  stopper.join();
  EXPECT_EQ(ran, 1) << "the running task ended; the two still queued were dropped";
}

class FakeSink : public StreamSink {
 public:
  explicit FakeSink(bool accept) : accept_(accept) {}
  bool Write(std::string data) override { return TryWrite(std::move(data)); }
  bool TryWrite(std::string data) override {
    std::lock_guard lock(mu_);
    if (!accept_) return false;
    got_.push_back(std::move(data));
    return true;
  }
  bool open() const override { return accept_; }
  std::vector<std::string> got() {
    std::lock_guard lock(mu_);
    return got_;
  }
  void Close() {
    std::lock_guard lock(mu_);
    accept_ = false;
  }

 private:
  std::mutex mu_;
  bool accept_;
  std::vector<std::string> got_;
};

TEST(ChangeBroadcasterTest, EveryStreamHearsOfAChangeAndGoneOnesAreDropped) {
  ChangeSignal changes;
  ChangeBroadcaster b(&changes, std::chrono::milliseconds(10), std::chrono::milliseconds(100));
  auto a = std::make_shared<FakeSink>(true), c = std::make_shared<FakeSink>(true);
  b.Add(a);
  b.Add(c);
  b.Add(std::make_shared<FakeSink>(false));  // gone before its first event: never kept
  EXPECT_EQ(b.streams(), 2u);
  ASSERT_EQ(a->got().size(), 1u);
  EXPECT_EQ(a->got()[0], ChangeBroadcaster::Event(1));
  c->Close();
  changes.Bump();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (a->got().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(a->got().size(), 2u);
  EXPECT_EQ(a->got()[1], ChangeBroadcaster::Event(2));
  EXPECT_EQ(b.streams(), 1u) << "the closed stream is dropped at the first write it refuses";
  // Quiet: a keep-alive comment comes, which is how a gone client is found.
  while (a->got().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(a->got().size(), 3u);
  EXPECT_EQ(a->got()[2], ": keep-alive\n\n");
  b.Stop();
  EXPECT_EQ(b.streams(), 0u);
}

}  // namespace
}  // namespace cifs

#include "limits/login_backoff.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/clock.h"
#include "redis/redis_client.h"
#include "testkit/redis_instance.h"

namespace playground::limits {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

enum class Backend { kMemory, kRedis };

constexpr auto kStart = std::chrono::system_clock::time_point(seconds(1'700'000'000));

redis::RedisOptions ClientOptions(const std::string& url) {
  redis::RedisOptions o;
  o.url = url;
  o.connect_timeout = milliseconds(1000);
  o.command_timeout = milliseconds(1000);
  return o;
}

TEST(BackoffDelayTest, FreeFailuresThenDoublingUpToTheCap) {
  BackoffPolicy p;  // 5 free, 1 s, doubling, 15 min cap
  for (int n = 0; n < 5; ++n) EXPECT_EQ(BackoffDelay(p, n), milliseconds(0)) << n;
  EXPECT_EQ(BackoffDelay(p, 5), seconds(1));
  EXPECT_EQ(BackoffDelay(p, 6), seconds(2));
  EXPECT_EQ(BackoffDelay(p, 7), seconds(4));
  EXPECT_EQ(BackoffDelay(p, 14), seconds(512));
  EXPECT_EQ(BackoffDelay(p, 15), minutes(15));  // 1024 s, capped
  EXPECT_EQ(BackoffDelay(p, 1000000), minutes(15));
}

// The same scenarios against both backends, so that the Lua script and the C++ code agree.
class LoginBackoffTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kRedis) {
      testkit::SharedRedis().FlushAll();
      client_ = std::make_unique<redis::RedisClient>(ClientOptions(testkit::SharedRedis().Url()));
      backoff_ = MakeRedisLoginBackoff(*client_, clock_);
    } else {
      backoff_ = MakeMemoryLoginBackoff(clock_);
    }
  }

  void Fail(int times, std::string_view account = "alice") {
    for (int i = 0; i < times; ++i) backoff_->RecordFailure(account);
  }

  core::ManualClock clock_{kStart};
  std::unique_ptr<redis::RedisClient> client_;
  std::unique_ptr<LoginBackoff> backoff_;
};

TEST_P(LoginBackoffTest, FiveFreeFailuresThenOneSecond) {
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(0));
  Fail(4);
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(0));
  Fail(1);
  EXPECT_EQ(backoff_->Check("alice"), seconds(1));
  clock_.Advance(milliseconds(999));
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(1));
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(0));
}

TEST_P(LoginBackoffTest, DoublesUpToTheCapAndNeverLocksForGood) {
  Fail(5);
  milliseconds expected = seconds(1);
  for (int failure = 6; failure <= 30; ++failure) {
    clock_.Advance(backoff_->Check("alice"));  // an attacker retrying as soon as allowed
    ASSERT_EQ(backoff_->Check("alice"), milliseconds(0));
    Fail(1);
    expected = std::min<milliseconds>(expected * 2, minutes(15));
    ASSERT_EQ(backoff_->Check("alice"), expected) << "after failure " << failure;
  }
  EXPECT_EQ(backoff_->Check("alice"), minutes(15));
  clock_.Advance(minutes(15));
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(0)) << "the owner may try again after the cap";
}

TEST_P(LoginBackoffTest, SuccessResets) {
  Fail(7);
  EXPECT_EQ(backoff_->Check("alice"), seconds(4));
  clock_.Advance(seconds(4));
  backoff_->RecordSuccess("alice");
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(0));
  Fail(4);
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(0)) << "the count restarted";
  Fail(1);
  EXPECT_EQ(backoff_->Check("alice"), seconds(1));
}

TEST_P(LoginBackoffTest, FailuresAreForgottenAWindowAfterTheWait) {
  Fail(6);  // wait 2 s
  clock_.Advance(seconds(2) + minutes(15) - milliseconds(1));
  Fail(1);  // still remembered: the 7th failure
  EXPECT_EQ(backoff_->Check("alice"), seconds(4));

  clock_.Advance(seconds(4) + minutes(15));
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(0));
  Fail(1);  // forgotten: the 1st failure again
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(0));
  Fail(3);
  EXPECT_EQ(backoff_->Check("alice"), milliseconds(0));
  Fail(1);
  EXPECT_EQ(backoff_->Check("alice"), seconds(1));
}

TEST_P(LoginBackoffTest, AccountsAreIsolated) {
  Fail(10, "alice");
  EXPECT_GT(backoff_->Check("alice"), milliseconds(0));
  EXPECT_EQ(backoff_->Check("bob"), milliseconds(0));
  backoff_->RecordSuccess("bob");
  EXPECT_GT(backoff_->Check("alice"), milliseconds(0));
}

TEST_P(LoginBackoffTest, ConcurrentFailuresAllCount) {
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] { Fail(2); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(backoff_->Check("alice"), seconds(8));  // 8 failures
}

INSTANTIATE_TEST_SUITE_P(Backends, LoginBackoffTest, ::testing::Values(Backend::kMemory, Backend::kRedis),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kMemory ? "Memory" : "Redis";
                         });

TEST(MemoryLoginBackoffTest, HoldsAtMostMaxAccounts) {
  core::ManualClock clock(kStart);
  auto backoff = MakeMemoryLoginBackoff(clock, {}, 100);
  for (int i = 0; i < 5000; ++i) {
    backoff->RecordFailure("user-" + std::to_string(i));
    ASSERT_LE(backoff->Stats().keys, 100);
  }
  EXPECT_GT(backoff->Stats().evictions, 0);
}

TEST(MemoryLoginBackoffTest, ExpiredRecordsLeave) {
  core::ManualClock clock(kStart);
  auto backoff = MakeMemoryLoginBackoff(clock, {}, 1000);
  for (int i = 0; i < 50; ++i) backoff->RecordFailure("old-" + std::to_string(i));
  clock.Advance(minutes(16));
  for (int i = 0; i < 50; ++i) backoff->Check("new-" + std::to_string(i));
  EXPECT_LT(backoff->Stats().keys, 50);
  EXPECT_EQ(backoff->Stats().evictions, 0);
}

TEST(RedisLoginBackoffTest, SharedBetweenProcessesAndExpiring) {
  testkit::SharedRedis().FlushAll();
  redis::RedisClient client_a(ClientOptions(testkit::SharedRedis().Url()));
  redis::RedisClient client_b(ClientOptions(testkit::SharedRedis().Url()));
  core::ManualClock clock(kStart);
  auto a = MakeRedisLoginBackoff(client_a, clock);
  auto b = MakeRedisLoginBackoff(client_b, clock);
  for (int i = 0; i < 3; ++i) a->RecordFailure("carol");
  for (int i = 0; i < 3; ++i) b->RecordFailure("carol");
  EXPECT_EQ(a->Check("carol"), seconds(2));
  EXPECT_EQ(b->Check("carol"), seconds(2));
  int64_t ttl = client_a.Command({"PTTL", "lb:carol"}).integer();
  EXPECT_GT(ttl, (seconds(2) + minutes(15)).count() * 1000 - 5000);
  b->RecordSuccess("carol");
  EXPECT_EQ(a->Check("carol"), milliseconds(0));
  EXPECT_EQ(client_a.Command({"EXISTS", "lb:carol"}).integer(), 0);
}

TEST(RedisLoginBackoffTest, FailsOpenWhileRedisIsDown) {
  testkit::RedisInstance redis;
  redis::RedisClient client(ClientOptions(redis.Url()));
  core::ManualClock clock(kStart);
  auto backoff = MakeRedisLoginBackoff(client, clock);
  for (int i = 0; i < 6; ++i) backoff->RecordFailure("dave");
  ASSERT_EQ(backoff->Check("dave"), seconds(2));

  redis.Stop();
  EXPECT_EQ(backoff->Check("dave"), milliseconds(0));
  backoff->RecordFailure("dave");
  backoff->RecordSuccess("dave");
  EXPECT_EQ(backoff->Stats().fail_open, 3);

  redis.Start();
  clock.Advance(seconds(1));  // past the pause; the restarted server has no records
  EXPECT_EQ(backoff->Check("dave"), milliseconds(0));
  for (int i = 0; i < 5; ++i) backoff->RecordFailure("dave");
  EXPECT_EQ(backoff->Check("dave"), seconds(1));
  EXPECT_EQ(backoff->Stats().fail_open, 3);
}

}  // namespace
}  // namespace playground::limits

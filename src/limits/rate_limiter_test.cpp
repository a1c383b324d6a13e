#include "limits/rate_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "redis/redis_client.h"
#include "testkit/redis_instance.h"

namespace playground::limits {
namespace {

using std::chrono::milliseconds;
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

template <typename F>
core::ErrorCode ErrorCodeOf(F&& f) {
  try {
    f();
  } catch (const core::Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no core::Error thrown";
  return core::ErrorCode::kInternal;
}

// Every behaviour of a token bucket, run against both backends so that the Lua script and the
// C++ code cannot drift apart.
class RateLimiterTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kRedis) {
      testkit::SharedRedis().FlushAll();
      client_ = std::make_unique<redis::RedisClient>(ClientOptions(testkit::SharedRedis().Url()));
      limiter_ = MakeRedisRateLimiter(*client_, clock_);
    } else {
      limiter_ = MakeMemoryRateLimiter(clock_);
    }
  }

  Decision Take(const Zone& zone, std::string_view key = "client", double cost = 1) {
    return limiter_->Take(zone, key, cost);
  }
  int Drain(const Zone& zone, std::string_view key = "client") {
    int allowed = 0;
    while (Take(zone, key).allowed) ++allowed;
    return allowed;
  }

  const Zone zone_{"test", 5, 10};
  core::ManualClock clock_{kStart};
  std::unique_ptr<redis::RedisClient> client_;
  std::unique_ptr<RateLimiter> limiter_;
};

TEST_P(RateLimiterTest, AllowsTheBurstThenRefusesWithRetryAfter) {
  for (int i = 0; i < 10; ++i) {
    Decision d = Take(zone_);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.retry_after, milliseconds(0));
    EXPECT_NEAR(d.remaining, 9 - i, 1e-9);
  }
  Decision refused = Take(zone_);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, milliseconds(200));  // one token at 5 per second
  EXPECT_NEAR(refused.remaining, 0, 1e-9);
  EXPECT_EQ(limiter_->Stats().fail_open, 0);
}

TEST_P(RateLimiterTest, RefillsAtTheRateUpToTheBurst) {
  ASSERT_EQ(Drain(zone_), 10);
  clock_.Advance(milliseconds(100));  // half a token
  Decision d = Take(zone_);
  EXPECT_FALSE(d.allowed);
  EXPECT_NEAR(d.remaining, 0.5, 1e-9);
  EXPECT_EQ(d.retry_after, milliseconds(100));
  clock_.Advance(milliseconds(100));
  EXPECT_TRUE(Take(zone_).allowed);
  EXPECT_FALSE(Take(zone_).allowed);

  clock_.Advance(seconds(1));
  EXPECT_EQ(Drain(zone_), 5);

  clock_.Advance(std::chrono::hours(1));  // a long idle spell fills the bucket, no more
  EXPECT_EQ(Drain(zone_), 10);
}

TEST_P(RateLimiterTest, RetryAfterIsExactlyLongEnough) {
  const Zone odd{"odd", 3, 2};  // a token every 333.3 ms
  ASSERT_EQ(Drain(odd), 2);
  for (int i = 0; i < 20; ++i) {
    Decision refused = Take(odd);
    ASSERT_FALSE(refused.allowed);
    ASSERT_GT(refused.retry_after, milliseconds(0));
    clock_.Advance(refused.retry_after - milliseconds(1));
    ASSERT_FALSE(Take(odd).allowed) << "allowed before retry_after, round " << i;
    clock_.Advance(milliseconds(1));
    ASSERT_TRUE(Take(odd).allowed) << "refused at retry_after, round " << i;
  }
}

TEST_P(RateLimiterTest, CostsMoreThanOneToken) {
  EXPECT_NEAR(Take(zone_, "client", 4).remaining, 6, 1e-9);
  EXPECT_NEAR(Take(zone_, "client", 4).remaining, 2, 1e-9);
  Decision refused = Take(zone_, "client", 4);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, milliseconds(400));  // two tokens short at 5 per second
  Decision peek = Take(zone_, "client", 0);
  EXPECT_TRUE(peek.allowed);
  EXPECT_NEAR(peek.remaining, 2, 1e-9);
  EXPECT_TRUE(Take(zone_, "client", 2).allowed);
  EXPECT_TRUE(Take(zone_, "client", 0).allowed);  // a peek at an empty bucket is still allowed
  Decision half = Take(zone_, "client", 0.5);
  EXPECT_FALSE(half.allowed);
  EXPECT_EQ(half.retry_after, milliseconds(100));
}

TEST_P(RateLimiterTest, RejectsImpossibleCostsAndBadZones) {
  EXPECT_EQ(ErrorCodeOf([&] { Take(zone_, "client", 11); }), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeOf([&] { Take(zone_, "client", -1); }), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeOf([&] { Take(zone_, "client", std::nan("")); }), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeOf([&] { Take(Zone{"a:b", 1, 1}); }), core::ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeOf([&] { Take(Zone{"z", 0, 1}); }), core::ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeOf([&] { Take(Zone{"z", 1, 0}); }), core::ErrorCode::kInternal);
}

TEST_P(RateLimiterTest, KeysAreIsolated) {
  ASSERT_EQ(Drain(zone_, "10.0.0.1"), 10);
  EXPECT_EQ(Drain(zone_, "10.0.0.2"), 10);
  EXPECT_EQ(Drain(zone_, std::string("10.0.0.1\0x", 10)), 10);  // keys are binary-safe
  EXPECT_FALSE(Take(zone_, "10.0.0.1").allowed);
}

TEST_P(RateLimiterTest, ZonesAreIsolated) {
  const Zone auth = AuthZone();
  const Zone api = ApiZone();
  EXPECT_EQ(Drain(auth, "10.0.0.1"), auth.burst);
  EXPECT_EQ(Drain(api, "10.0.0.1"), api.burst);
  EXPECT_FALSE(Take(auth, "10.0.0.1").allowed);
}

TEST_P(RateLimiterTest, RefusedRequestsDoNotDelayRecovery) {
  ASSERT_EQ(Drain(zone_), 10);
  for (int i = 0; i < 50; ++i) {
    clock_.Advance(milliseconds(3));
    EXPECT_FALSE(Take(zone_).allowed);
  }
  clock_.Advance(milliseconds(50));  // 200 ms after draining
  EXPECT_TRUE(Take(zone_).allowed);
}

TEST_P(RateLimiterTest, AClockSteppingBackRefillsNothing) {
  ASSERT_EQ(Drain(zone_), 10);
  clock_.Advance(-seconds(5));
  EXPECT_FALSE(Take(zone_).allowed);
  clock_.Advance(seconds(5) + milliseconds(200));
  EXPECT_TRUE(Take(zone_).allowed);
  EXPECT_FALSE(Take(zone_).allowed);
}

TEST_P(RateLimiterTest, TakeEachStopsAtTheFirstRefusalLikeSeparateTakes) {
  const Zone zone{"each", 1, 3};
  ASSERT_TRUE(Take(zone, "b", 3).allowed);  // b is empty
  ASSERT_TRUE(Take(zone, "a", 1).allowed);  // a holds 2
  Decision both = limiter_->TakeEach(zone, {"a", "c"});
  EXPECT_TRUE(both.allowed);
  EXPECT_NEAR(both.remaining, 1, 1e-9) << "the least of a (1) and c (2)";
  Decision refused = limiter_->TakeEach(zone, {"a", "b", "c"});
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, milliseconds(1000)) << "b's: one token at 1 per second";
  EXPECT_NEAR(refused.remaining, 0, 1e-9);
  EXPECT_NEAR(Take(zone, "a", 0).remaining, 0, 1e-9) << "a, before the refusal, spent its token";
  EXPECT_NEAR(Take(zone, "c", 0).remaining, 2, 1e-9) << "c, after the refusal, was not asked";
  EXPECT_EQ(ErrorCodeOf([&] { limiter_->TakeEach(zone, {"a"}, 4); }), core::ErrorCode::kInvalidArgument);
}

TEST_P(RateLimiterTest, ConcurrentTakesNeverOverspend) {
  const Zone zone{"busy", 1, 100};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        if (limiter_->Take(zone, "shared").allowed) ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
}

INSTANTIATE_TEST_SUITE_P(Backends, RateLimiterTest, ::testing::Values(Backend::kMemory, Backend::kRedis),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kMemory ? "Memory" : "Redis";
                         });

TEST(RateLimitZonesTest, SeedZones) {
  std::vector<Zone> zones = DefaultZones();
  ASSERT_EQ(zones.size(), 3u);
  EXPECT_EQ(zones[0].name, "auth");
  EXPECT_EQ(zones[0].rate_per_second, 5);
  EXPECT_EQ(zones[1].name, "upload");
  EXPECT_EQ(zones[1].rate_per_second, 1);
  EXPECT_EQ(zones[2].name, "api");
  EXPECT_EQ(zones[2].rate_per_second, 100);
  for (const Zone& z : zones) EXPECT_GE(z.burst, 1) << z.name;
}

// ---- memory backend -------------------------------------------------------------------------

TEST(MemoryRateLimiterTest, HoldsAtMostMaxKeys) {
  core::ManualClock clock(kStart);
  auto limiter = MakeMemoryRateLimiter(clock, {.max_keys = 64, .shards = 4});
  const Zone zone{"test", 1, 5};
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(limiter->Take(zone, "client-" + std::to_string(i)).allowed);
    ASSERT_LE(limiter->Stats().keys, 64) << i;
  }
  EXPECT_GT(limiter->Stats().evictions, 0);
}

TEST(MemoryRateLimiterTest, EvictsTheLeastRecentlyUsedKey) {
  core::ManualClock clock(kStart);
  auto limiter = MakeMemoryRateLimiter(clock, {.max_keys = 2, .shards = 1});
  const Zone zone{"test", 1, 2};
  limiter->Take(zone, "a", 2);
  limiter->Take(zone, "b", 2);
  limiter->Take(zone, "a", 0);  // "a" is now the more recent
  limiter->Take(zone, "c", 2);  // evicts "b"
  EXPECT_FALSE(limiter->Take(zone, "a").allowed);
  EXPECT_FALSE(limiter->Take(zone, "c").allowed);
  EXPECT_TRUE(limiter->Take(zone, "b").allowed) << "an evicted key starts with a full bucket";
  EXPECT_EQ(limiter->Stats().evictions, 2);  // "b" coming back evicted another
}

TEST(MemoryRateLimiterTest, IdleBucketsLeaveWithoutEvictions) {
  core::ManualClock clock(kStart);
  auto limiter = MakeMemoryRateLimiter(clock, {.max_keys = 1000, .shards = 1});
  const Zone zone{"test", 10, 5};
  for (int i = 0; i < 100; ++i) limiter->Take(zone, "old-" + std::to_string(i));
  EXPECT_EQ(limiter->Stats().keys, 100);
  clock.Advance(seconds(1));  // every old bucket is full again, i.e. carries no state
  for (int i = 0; i < 100; ++i) limiter->Take(zone, "new-" + std::to_string(i));
  EXPECT_EQ(limiter->Stats().keys, 100);
  EXPECT_EQ(limiter->Stats().evictions, 0);
  // A take that leaves the bucket full stores nothing at all.
  limiter->Take(zone, "peek", 0);
  EXPECT_EQ(limiter->Stats().keys, 100);
}

// ---- Redis backend --------------------------------------------------------------------------

TEST(RedisRateLimiterTest, TwoProcessesShareOneLimit) {
  testkit::SharedRedis().FlushAll();
  // Two clients and two clocks, as two API processes would have.
  redis::RedisClient client_a(ClientOptions(testkit::SharedRedis().Url()));
  redis::RedisClient client_b(ClientOptions(testkit::SharedRedis().Url()));
  core::ManualClock clock_a(kStart);
  core::ManualClock clock_b(kStart);
  auto a = MakeRedisRateLimiter(client_a, clock_a);
  auto b = MakeRedisRateLimiter(client_b, clock_b);
  const Zone zone{"shared", 5, 10};

  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += (i % 2 ? a : b)->Take(zone, "10.0.0.7").allowed;
  EXPECT_EQ(allowed, 10);

  clock_a.Advance(seconds(1));
  clock_b.Advance(seconds(1));
  allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += (i % 3 ? a : b)->Take(zone, "10.0.0.7").allowed;
  EXPECT_EQ(allowed, 5);

  // Concurrently from both "processes".
  clock_a.Advance(seconds(10));
  clock_b.Advance(seconds(10));
  std::atomic<int> concurrent{0};
  std::vector<std::thread> threads;
  threads.reserve(6);
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) concurrent += (t % 2 ? a : b)->Take(zone, "10.0.0.7").allowed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(concurrent.load(), 10);
}

TEST(RedisRateLimiterTest, AProcessWithALaggingClockRefillsNothing) {
  testkit::SharedRedis().FlushAll();
  redis::RedisClient client(ClientOptions(testkit::SharedRedis().Url()));
  core::ManualClock ahead(kStart);
  core::ManualClock behind(kStart - seconds(5));
  auto a = MakeRedisRateLimiter(client, ahead);
  auto b = MakeRedisRateLimiter(client, behind);
  const Zone zone{"skew", 5, 10};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(a->Take(zone, "k").allowed);
  EXPECT_FALSE(b->Take(zone, "k").allowed);
  behind.Advance(seconds(5) + milliseconds(200));
  EXPECT_TRUE(b->Take(zone, "k").allowed);
  EXPECT_FALSE(a->Take(zone, "k").allowed);
}

TEST(RedisRateLimiterTest, BucketsExpireOnceTheyWouldBeFull) {
  testkit::SharedRedis().FlushAll();
  redis::RedisClient client(ClientOptions(testkit::SharedRedis().Url()));
  core::ManualClock clock(kStart);
  auto limiter = MakeRedisRateLimiter(client, clock);
  limiter->Take(Zone{"ttl", 2, 10}, "k", 4);  // 4 tokens short at 2 per second: full in 2 s
  int64_t ttl = client.Command({"PTTL", "rl:ttl:k"}).integer();
  EXPECT_GT(ttl, 2000);
  EXPECT_LE(ttl, 3000);
  EXPECT_EQ(client.Command({"HGET", "rl:ttl:k", "t"}).str(), "6");
}

TEST(RedisRateLimiterTest, FailsOpenWhileRedisIsDown) {
  testkit::RedisInstance redis;
  redis::RedisClient client(ClientOptions(redis.Url()));
  core::ManualClock clock(kStart);
  auto limiter = MakeRedisRateLimiter(client, clock);
  const Zone zone{"outage", 1, 2};
  ASSERT_TRUE(limiter->Take(zone, "k").allowed);
  ASSERT_TRUE(limiter->Take(zone, "k").allowed);
  ASSERT_FALSE(limiter->Take(zone, "k").allowed);

  redis.Stop();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    Decision d = limiter->Take(zone, "k");
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.retry_after, milliseconds(0));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  EXPECT_EQ(limiter->Stats().fail_open, 5);
  // Only the first decision asked Redis: the others were made during the pause after it.
  EXPECT_EQ(client.Stats().in_use, 0);

  redis.Start();
  EXPECT_TRUE(limiter->Take(zone, "k").allowed) << "still paused";
  EXPECT_EQ(limiter->Stats().fail_open, 6);
  clock.Advance(seconds(1));  // the pause is over; the restarted server starts with empty buckets
  EXPECT_TRUE(limiter->Take(zone, "k").allowed);
  EXPECT_TRUE(limiter->Take(zone, "k").allowed);
  EXPECT_FALSE(limiter->Take(zone, "k").allowed);
  EXPECT_EQ(limiter->Stats().fail_open, 6);
}

}  // namespace
}  // namespace playground::limits

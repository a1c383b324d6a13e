#include "cache/cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "core/metrics.h"
#include "redis/redis_client.h"
#include "testkit/redis_instance.h"

namespace playground::cache {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::Optional;

constexpr auto kStart = std::chrono::system_clock::time_point(seconds(1'700'000'000));

redis::RedisOptions ClientOptions(const std::string& url) {
  redis::RedisOptions o;
  o.url = url;
  o.connect_timeout = milliseconds(1000);
  o.command_timeout = milliseconds(1000);
  return o;
}

// The value of a cache's series in the global registry (0 when it has none yet).
double Metric(const std::string& family, const std::string& cache) {
  for (const auto& f : core::Metrics::Global().registry().Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      for (const auto& label : m.label) {
        if (label.name == "cache" && label.value == cache) {
          return f.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
        }
      }
    }
  }
  return 0;
}

// A cache name no other test uses, so that each test's metric series start at zero.
std::string UniqueName(std::string_view base) {
  static std::atomic<int> next{0};
  return std::string(base) + "-" + std::to_string(next++);
}

enum class Backend { kMemory, kRedis };

// The contract of Cache, run against both backends.
class CacheTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    options_.name = UniqueName("contract");
    if (GetParam() == Backend::kRedis) {
      testkit::SharedRedis().FlushAll();
      client_ = std::make_unique<redis::RedisClient>(ClientOptions(testkit::SharedRedis().Url()));
    }
    cache_ = MakeCache(options_, clock_, client_.get());
  }

  CacheOptions options_;
  core::ManualClock clock_{kStart};
  std::unique_ptr<redis::RedisClient> client_;
  std::unique_ptr<Cache> cache_;
};

TEST_P(CacheTest, NamesItsBackend) {
  EXPECT_EQ(cache_->backend(), GetParam() == Backend::kMemory ? "memory" : "redis");
}

TEST_P(CacheTest, GetsWhatWasPut) {
  EXPECT_EQ(cache_->Get("a"), std::nullopt);
  cache_->Put("a", "1", hours(24));
  cache_->Put("b", "", hours(24));  // an empty value is a value
  EXPECT_THAT(cache_->Get("a"), Optional(std::string("1")));
  EXPECT_THAT(cache_->Get("b"), Optional(std::string("")));
  cache_->Put("a", "2", hours(24));
  EXPECT_THAT(cache_->Get("a"), Optional(std::string("2")));
  EXPECT_EQ(Metric("cache_hits_total", options_.name), 3);
  EXPECT_EQ(Metric("cache_misses_total", options_.name), 1);
  EXPECT_EQ(Metric("cache_errors_total", options_.name), 0);
}

TEST_P(CacheTest, KeysAndValuesAreBinarySafe) {
  const std::string key("k\0:\xff\n", 5);
  const std::string value("\0\x01\xfe value \r\n", 12);
  cache_->Put(key, value, seconds(60));
  EXPECT_THAT(cache_->Get(key), Optional(value));
  EXPECT_EQ(cache_->Get(std::string("k\0", 2)), std::nullopt);
}

TEST_P(CacheTest, GetManyAnswersInTheOrderAsked) {
  cache_->Put("a", "1", seconds(60));
  cache_->Put("c", "3", seconds(60));
  EXPECT_THAT(
      cache_->GetMany({"a", "b", "c", "a"}),
      ElementsAre(Optional(std::string("1")), std::nullopt, Optional(std::string("3")), Optional(std::string("1"))));
  EXPECT_TRUE(cache_->GetMany({}).empty());
  EXPECT_EQ(Metric("cache_hits_total", options_.name), 3);
  EXPECT_EQ(Metric("cache_misses_total", options_.name), 1);
}

TEST_P(CacheTest, PutManyStoresEveryEntryAndTheLaterDuplicateWins) {
  cache_->PutMany({{"a", "1"}, {"b", "2"}, {"a", "3"}}, seconds(60));
  cache_->PutMany({}, seconds(60));
  EXPECT_THAT(cache_->GetMany({"a", "b", "c"}),
              ElementsAre(Optional(std::string("3")), Optional(std::string("2")), std::nullopt));
}

TEST_P(CacheTest, ManyAtOnceBeyondOneBatch) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; ++i) {
    entries.emplace_back("row-" + std::to_string(i), "prediction-" + std::to_string(i));
    keys.push_back("row-" + std::to_string(i));
  }
  keys.emplace_back("absent");
  cache_->PutMany(entries, hours(24));
  std::vector<std::optional<std::string>> values = cache_->GetMany(keys);
  ASSERT_EQ(values.size(), keys.size());
  for (int i = 0; i < 2500; ++i) ASSERT_THAT(values[i], Optional(entries[i].second)) << i;
  EXPECT_EQ(values.back(), std::nullopt);
}

TEST_P(CacheTest, AZeroOrNegativeTtlRemovesTheKey) {
  cache_->Put("a", "1", seconds(60));
  cache_->Put("a", "2", seconds(0));
  EXPECT_EQ(cache_->Get("a"), std::nullopt);
  cache_->PutMany({{"b", "1"}, {"c", "1"}}, seconds(60));
  cache_->PutMany({{"b", "2"}, {"c", "2"}}, seconds(-5));
  EXPECT_THAT(cache_->GetMany({"b", "c"}), ElementsAre(std::nullopt, std::nullopt));
  EXPECT_EQ(Metric("cache_errors_total", options_.name), 0);
}

TEST_P(CacheTest, AHugeTtlIsKept) {
  cache_->Put("a", "1", seconds::max());
  cache_->PutMany({{"b", "2"}}, seconds::max());
  EXPECT_THAT(cache_->GetMany({"a", "b"}), ElementsAre(Optional(std::string("1")), Optional(std::string("2"))));
  EXPECT_EQ(Metric("cache_errors_total", options_.name), 0);
}

TEST_P(CacheTest, ConcurrentUse) {
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string key = "k" + std::to_string(i % 20);
        cache_->Put(key, std::to_string(t), seconds(60));
        std::optional<std::string> value = cache_->Get(key);
        ASSERT_TRUE(value.has_value());
        ASSERT_EQ(value->size(), 1u);
        cache_->PutMany({{key, "x"}, {"other", "y"}}, seconds(60));
        ASSERT_EQ(cache_->GetMany({key, "other"}).size(), 2u);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Metric("cache_errors_total", options_.name), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, CacheTest, ::testing::Values(Backend::kMemory, Backend::kRedis),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kMemory ? "Memory" : "Redis";
                         });

TEST(MakeCacheTest, RejectsNamesThatCannotBeLabelsOrKeyParts) {
  core::ManualClock clock(kStart);
  for (const char* name : {"", "a:b", "Upper", "a b"}) {
    try {
      MakeCache(CacheOptions{.name = name}, clock, nullptr);
      ADD_FAILURE() << "accepted '" << name << "'";
    } catch (const core::Error& e) {
      EXPECT_EQ(e.code(), core::ErrorCode::kInternal);
    }
  }
  EXPECT_NO_THROW(MakeCache(CacheOptions{.name = "predictions_v2-a"}, clock, nullptr));
}

TEST(MakeCacheTest, CachesMadeTwiceShareTheirSeries) {
  core::ManualClock clock(kStart);
  const std::string name = UniqueName("twice");
  auto a = MakeCache(CacheOptions{.name = name}, clock, nullptr);
  auto b = MakeCache(CacheOptions{.name = name}, clock, nullptr);
  a->Put("k", "v", seconds(60));
  b->Put("k", "v", seconds(60));
  a->Get("k");
  b->Get("k");
  EXPECT_EQ(Metric("cache_hits_total", name), 2);
  EXPECT_EQ(Metric("cache_entries", name), 2);
  a.reset();
  EXPECT_EQ(Metric("cache_entries", name), 1);
}

// ---- memory backend -------------------------------------------------------------------------

class MemoryCacheTest : public ::testing::Test {
 protected:
  std::unique_ptr<Cache> Make(std::size_t max_entries, std::size_t max_bytes) {
    options_.name = UniqueName("memory");
    options_.max_entries = max_entries;
    options_.max_bytes = max_bytes;
    return MakeCache(options_, clock_, nullptr);
  }
  double Entries() const { return Metric("cache_entries", options_.name); }

  CacheOptions options_;
  core::ManualClock clock_{kStart};
};

TEST_F(MemoryCacheTest, EntriesExpireAfterTheirTtl) {
  auto cache = Make(100, 1 << 20);
  cache->Put("short", "1", seconds(10));
  cache->PutMany({{"long", "2"}}, hours(24));
  clock_.Advance(seconds(9));
  EXPECT_THAT(cache->Get("short"), Optional(std::string("1")));
  clock_.Advance(seconds(1));
  EXPECT_EQ(cache->Get("short"), std::nullopt);
  EXPECT_EQ(Entries(), 1) << "an expired entry met by a lookup is dropped";
  EXPECT_THAT(cache->GetMany({"short", "long"}), ElementsAre(std::nullopt, Optional(std::string("2"))));
  clock_.Advance(hours(24));
  EXPECT_THAT(cache->GetMany({"long"}), ElementsAre(std::nullopt));
  EXPECT_EQ(Entries(), 0);
}

TEST_F(MemoryCacheTest, PutRenewsTheTtl) {
  auto cache = Make(100, 1 << 20);
  cache->Put("k", "1", seconds(10));
  clock_.Advance(seconds(8));
  cache->Put("k", "2", seconds(10));
  clock_.Advance(seconds(8));
  EXPECT_THAT(cache->Get("k"), Optional(std::string("2")));
}

TEST_F(MemoryCacheTest, EvictsTheLeastRecentlyUsedBeyondMaxEntries) {
  auto cache = Make(3, 1 << 20);
  cache->Put("a", "1", hours(1));
  cache->Put("b", "2", hours(1));
  cache->Put("c", "3", hours(1));
  EXPECT_TRUE(cache->Get("a"));  // "b" is now the least recent
  cache->Put("d", "4", hours(1));
  EXPECT_THAT(
      cache->GetMany({"a", "b", "c", "d"}),
      ElementsAre(Optional(std::string("1")), std::nullopt, Optional(std::string("3")), Optional(std::string("4"))));
  EXPECT_EQ(Entries(), 3);
  cache->PutMany({{"e", "5"}, {"f", "6"}}, hours(1));  // "a" and "c" were the least recent
  EXPECT_THAT(cache->GetMany({"a", "c", "d", "e", "f"}),
              ElementsAre(std::nullopt, std::nullopt, Optional(std::string("4")), Optional(std::string("5")),
                          Optional(std::string("6"))));
  EXPECT_EQ(Entries(), 3);
}

TEST_F(MemoryCacheTest, EvictsTheLeastRecentlyUsedBeyondMaxBytes) {
  auto cache = Make(1000, 100);  // keys and values: each entry below is 40 bytes
  const std::string value(38, 'v');
  cache->Put("k1", value, hours(1));
  cache->Put("k2", value, hours(1));
  EXPECT_EQ(Entries(), 2);
  cache->Put("k3", value, hours(1));  // 120 bytes: "k1" goes
  EXPECT_THAT(cache->GetMany({"k1", "k2", "k3"}), ElementsAre(std::nullopt, Optional(value), Optional(value)));
  // Growing a value evicts others too.
  cache->Put("k3", std::string(90, 'w'), hours(1));
  EXPECT_THAT(cache->GetMany({"k2", "k3"}), ElementsAre(std::nullopt, Optional(std::string(90, 'w'))));
  EXPECT_EQ(Entries(), 1);
}

TEST_F(MemoryCacheTest, AnEntryLargerThanMaxBytesIsNotStored) {
  auto cache = Make(1000, 100);
  cache->Put("small", "1", hours(1));
  cache->Put("big", "1", hours(1));
  cache->Put("big", std::string(99, 'x'), hours(1));  // 102 bytes with its key
  EXPECT_EQ(cache->Get("big"), std::nullopt) << "the old value must not survive a replacement";
  EXPECT_THAT(cache->Get("small"), Optional(std::string("1"))) << "nothing else is evicted for it";
  EXPECT_EQ(Entries(), 1);
}

TEST_F(MemoryCacheTest, ExpiredEntriesLeaveFromTheColdEndOnInsert) {
  auto cache = Make(1000, 1 << 20);
  for (int i = 0; i < 10; ++i) cache->Put("old-" + std::to_string(i), "v", seconds(10));
  EXPECT_EQ(Entries(), 10);
  clock_.Advance(seconds(10));
  for (int i = 0; i < 5; ++i) cache->Put("new-" + std::to_string(i), "v", seconds(10));
  EXPECT_EQ(Entries(), 5) << "each insert drops up to two expired entries";
}

// ---- Redis backend --------------------------------------------------------------------------

class RedisCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { testkit::SharedRedis().FlushAll(); }

  redis::RedisClient client_{ClientOptions(testkit::SharedRedis().Url())};
  core::ManualClock clock_{kStart};
};

TEST_F(RedisCacheTest, StoresUnderTheNamespacedKeyWithTheTtl) {
  auto cache = MakeCache(CacheOptions{.name = "predictions"}, clock_, &client_);
  cache->Put("m1:row", "0.75", hours(24));
  EXPECT_EQ(client_.Command({"GET", "playground:cache:predictions:m1:row"}).str(), "0.75");
  int64_t ttl = client_.Command({"TTL", "playground:cache:predictions:m1:row"}).integer();
  EXPECT_GE(ttl, 1);
  EXPECT_LE(ttl, 24 * 3600);
  EXPECT_GT(ttl, 24 * 3600 - 60);

  cache->PutMany({{"m1:a", "1"}, {"m1:b", "2"}}, seconds(90));
  for (const char* key : {"playground:cache:predictions:m1:a", "playground:cache:predictions:m1:b"}) {
    ttl = client_.Command({"TTL", key}).integer();
    EXPECT_GE(ttl, 1) << key;
    EXPECT_LE(ttl, 90) << key;
  }
}

TEST_F(RedisCacheTest, CachesOfDifferentNamesAreIsolated) {
  auto a = MakeCache(CacheOptions{.name = "first"}, clock_, &client_);
  auto b = MakeCache(CacheOptions{.name = "second"}, clock_, &client_);
  a->Put("k", "a", seconds(60));
  EXPECT_EQ(b->Get("k"), std::nullopt);
  b->Put("k", "b", seconds(60));
  EXPECT_THAT(a->Get("k"), Optional(std::string("a")));
}

TEST_F(RedisCacheTest, AValueOfAnotherTypeIsAnErrorAndAMiss) {
  const std::string name = UniqueName("wrongtype");
  auto cache = MakeCache(CacheOptions{.name = name}, clock_, &client_);
  client_.Command({"RPUSH", "playground:cache:" + name + ":list", "x"});
  EXPECT_EQ(cache->Get("list"), std::nullopt);
  EXPECT_EQ(Metric("cache_errors_total", name), 1);
  EXPECT_EQ(Metric("cache_misses_total", name), 1);
  // An error about one key does not stop the cache from using Redis for the others.
  cache->Put("k", "v", seconds(60));
  EXPECT_THAT(cache->Get("k"), Optional(std::string("v")));
  EXPECT_EQ(Metric("cache_errors_total", name), 1);
}

TEST(RedisCacheOutageTest, AStoppedRedisMakesMissesAndDropsWrites) {
  testkit::RedisInstance server;
  redis::RedisClient client(ClientOptions(server.Url()));
  core::ManualClock clock(kStart);
  const std::string name = UniqueName("outage");
  auto cache = MakeCache(CacheOptions{.name = name}, clock, &client);
  cache->Put("k", "v", seconds(60));
  ASSERT_THAT(cache->Get("k"), Optional(std::string("v")));

  server.Stop();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cache->Get("k"), std::nullopt);
  EXPECT_EQ(Metric("cache_errors_total", name), 1);
  EXPECT_NO_THROW(cache->Put("k", "w", seconds(60)));
  EXPECT_NO_THROW(cache->PutMany({{"a", "1"}}, seconds(60)));
  EXPECT_THAT(cache->GetMany({"k", "a"}), ElementsAre(std::nullopt, std::nullopt));
  EXPECT_EQ(Metric("cache_errors_total", name), 4);
  EXPECT_EQ(Metric("cache_misses_total", name), 3);
  EXPECT_EQ(Metric("cache_hits_total", name), 1);
  // Only the first call asked Redis: the others came during the pause after its failure.
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));

  clock.Advance(seconds(1));  // the pause is over; Redis is asked again and fails again
  EXPECT_NO_THROW(cache->Put("k", "w", seconds(60)));
  EXPECT_EQ(Metric("cache_errors_total", name), 5);

  server.Start();  // persistence is off: the restarted server is empty
  clock.Advance(seconds(1));
  EXPECT_EQ(cache->Get("k"), std::nullopt);
  cache->PutMany({{"k", "x"}}, seconds(60));
  EXPECT_THAT(cache->Get("k"), Optional(std::string("x")));
  EXPECT_EQ(Metric("cache_errors_total", name), 5);
}

// ---- LruMap ---------------------------------------------------------------------------------

std::shared_ptr<const int> Int(int v) { return std::make_shared<const int>(v); }

TEST(LruMapTest, EvictsTheLeastRecentlyUsed) {
  LruMap<int> map(3);
  map.Put("a", Int(1));
  map.Put("b", Int(2));
  map.Put("c", Int(3));
  ASSERT_NE(map.Get("a"), nullptr);  // order, most recent first: a c b
  map.Put("d", Int(4));              // evicts b
  EXPECT_EQ(map.size(), 3u);
  EXPECT_EQ(map.Get("b"), nullptr);
  map.Put("c", Int(30));  // replacing marks it recent: c d a
  map.Put("e", Int(5));   // evicts a
  EXPECT_EQ(map.Get("a"), nullptr);
  EXPECT_EQ(*map.Get("c"), 30);
  EXPECT_EQ(*map.Get("d"), 4);
  EXPECT_EQ(*map.Get("e"), 5);
  map.Erase("d");
  map.Erase("missing");
  EXPECT_EQ(map.Get("d"), nullptr);
  EXPECT_EQ(map.size(), 2u);
  map.Put("e", nullptr);  // a null value erases
  EXPECT_EQ(map.size(), 1u);
}

TEST(LruMapTest, AnEvictedObjectLivesWhileHeld) {
  LruMap<std::string> map(1);
  map.Put("a", std::make_shared<const std::string>("model a"));
  std::shared_ptr<const std::string> held = map.Get("a");
  map.Put("b", std::make_shared<const std::string>("model b"));
  EXPECT_EQ(map.Get("a"), nullptr);
  EXPECT_EQ(*held, "model a");
}

TEST(LruMapTest, GetOrLoadLoadsOnceForRacingThreads) {
  LruMap<int> map(4);
  std::atomic<int> loads{0};
  std::promise<void> go;
  std::shared_future<void> started = go.get_future().share();
  std::vector<std::shared_ptr<const int>> results(8);
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      started.wait();
      results[t] = map.GetOrLoad("model", [&] {
        ++loads;
        std::this_thread::sleep_for(milliseconds(50));  // long enough for the others to arrive
        return Int(42);
      });
    });
  }
  go.set_value();
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  for (const auto& r : results) EXPECT_EQ(r, results[0]) << "every caller gets the same object";
  EXPECT_EQ(*results[0], 42);
  EXPECT_EQ(map.GetOrLoad("model",
                          [&] {
                            ++loads;
                            return Int(0);
                          }),
            results[0]);
  EXPECT_EQ(loads.load(), 1);
}

TEST(LruMapTest, AThrowingLoadPropagatesAndIsNotCached) {
  LruMap<int> map(4);
  int loads = 0;
  EXPECT_THROW(map.GetOrLoad("m",
                             [&]() -> std::shared_ptr<const int> {
                               ++loads;
                               throw std::runtime_error("corrupt artifact");
                             }),
               std::runtime_error);
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(*map.GetOrLoad("m",
                           [&] {
                             ++loads;
                             return Int(7);
                           }),
            7);
  EXPECT_EQ(loads, 2);
}

TEST(LruMapTest, WaitersLoadThemselvesWhenTheFirstLoadThrows) {
  LruMap<int> map(4);
  std::atomic<int> loads{0};
  std::promise<void> in_load;
  std::promise<void> fail;
  std::shared_future<void> fail_now = fail.get_future().share();
  std::thread first([&] {
    EXPECT_THROW(map.GetOrLoad("m",
                               [&]() -> std::shared_ptr<const int> {
                                 ++loads;
                                 in_load.set_value();
                                 fail_now.wait();
                                 throw std::runtime_error("out of memory");
                               }),
                 std::runtime_error);
  });
  in_load.get_future().wait();
  std::vector<std::shared_ptr<const int>> results(3);
  std::vector<std::thread> waiters;
  waiters.reserve(3);
  for (int t = 0; t < 3; ++t) {
    waiters.emplace_back([&, t] {
      results[t] = map.GetOrLoad("m", [&] {
        ++loads;
        return Int(9);
      });
    });
  }
  std::this_thread::sleep_for(milliseconds(50));  // let the waiters block on the first load
  fail.set_value();
  first.join();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(loads.load(), 2) << "one failed load, then one of the waiters loads for all";
  for (const auto& r : results) EXPECT_EQ(r, results[0]);
  EXPECT_EQ(*results[0], 9);
}

TEST(LruMapTest, AnEraseDuringALoadWins) {
  LruMap<int> map(4);
  std::shared_ptr<const int> loaded = map.GetOrLoad("m", [&] {
    map.Erase("m");  // e.g. the model was deleted while its artifact was being read
    return Int(1);
  });
  EXPECT_EQ(*loaded, 1) << "the loader's caller still gets its result";
  EXPECT_EQ(map.Get("m"), nullptr);
  EXPECT_EQ(*map.GetOrLoad("m", [] { return Int(2); }), 2);
  EXPECT_EQ(*map.Get("m"), 2);
}

TEST(LruMapTest, ANullLoadIsReturnedButNotStored) {
  LruMap<int> map(4);
  EXPECT_EQ(map.GetOrLoad("m", [] { return std::shared_ptr<const int>(); }), nullptr);
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(*map.GetOrLoad("m", [] { return Int(3); }), 3);
}

TEST(LruMapTest, ALoadMayUseOtherKeys) {
  LruMap<int> map(4);
  auto outer = map.GetOrLoad("pipeline", [&] {
    auto inner = map.GetOrLoad("encoder", [] { return Int(10); });
    return Int(*inner + 1);
  });
  EXPECT_EQ(*outer, 11);
  EXPECT_EQ(map.size(), 2u);
}

}  // namespace
}  // namespace playground::cache

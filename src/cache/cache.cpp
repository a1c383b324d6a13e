#include "cache/cache.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <list>
#include <mutex>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "redis/redis_client.h"

namespace playground::cache {
namespace {

using Clock = std::chrono::system_clock;

// The families, registered once per process however many caches are made; each cache adds its
// own series, labelled cache=<name>. Caches of the same name share their series.
struct CacheMetrics {
  prometheus::Family<prometheus::Counter>& hits;
  prometheus::Family<prometheus::Counter>& misses;
  prometheus::Family<prometheus::Counter>& errors;
  prometheus::Family<prometheus::Gauge>& entries;

  static CacheMetrics& Get() {
    static CacheMetrics m = [] {
      auto& reg = core::Metrics::Global().registry();
      return CacheMetrics{
          prometheus::BuildCounter().Name("cache_hits_total").Help("Cache lookups that found a value.").Register(reg),
          prometheus::BuildCounter()
              .Name("cache_misses_total")
              .Help("Cache lookups that found nothing, or failed.")
              .Register(reg),
          prometheus::BuildCounter()
              .Name("cache_errors_total")
              .Help("Cache backend calls that failed, or were skipped right after a failure (Redis).")
              .Register(reg),
          prometheus::BuildGauge()
              .Name("cache_entries")
              .Help("Entries held by in-memory caches, expired ones not yet dropped included.")
              .Register(reg),
      };
    }();
    return m;
  }
};

// One cache's series. Safe for concurrent use (prometheus-cpp metrics are).
struct Counters {
  explicit Counters(const std::string& name)
      : hits(CacheMetrics::Get().hits.Add({{"cache", name}})),
        misses(CacheMetrics::Get().misses.Add({{"cache", name}})),
        errors(CacheMetrics::Get().errors.Add({{"cache", name}})) {}

  void Lookups(std::size_t found, std::size_t total) {
    if (found > 0) hits.Increment(static_cast<double>(found));
    if (total > found) misses.Increment(static_cast<double>(total - found));
  }

  prometheus::Counter& hits;
  prometheus::Counter& misses;
  prometheus::Counter& errors;
};

void ValidateName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  // A bad name is a bug in the program's configuration of its caches, not anyone's input.
  if (!ok) core::Fail(core::ErrorCode::kInternal, "cache name must match [a-z0-9_-]{1,64}: " + name);
}

// Longer ttls are cut to this, which keeps `now + ttl` far inside system_clock's range (about
// 292 years either side of 1970 in nanoseconds) and Redis' expiry arithmetic.
constexpr std::chrono::seconds kMaxTtl = std::chrono::hours(24 * 365 * 100);

std::chrono::seconds ClampTtl(std::chrono::seconds ttl) { return std::min(ttl, kMaxTtl); }

int64_t ToMillis(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// ---- memory ---------------------------------------------------------------------------------

// Safe for concurrent use: every entry is read and changed under mu_. One lock (no shards): the
// work under it is a hash lookup, a list splice and a value copy.
class MemoryCache final : public Cache {
 public:
  MemoryCache(const CacheOptions& options, const core::Clock& clock)
      : clock_(clock),
        max_entries_(std::max<std::size_t>(1, options.max_entries)),
        max_bytes_(options.max_bytes),
        counters_(options.name),
        entries_gauge_(CacheMetrics::Get().entries.Add({{"cache", options.name}})) {}

  ~MemoryCache() override { entries_gauge_.Decrement(static_cast<double>(index_.size())); }

  MemoryCache(const MemoryCache&) = delete;
  MemoryCache& operator=(const MemoryCache&) = delete;

  std::string_view backend() const override { return "memory"; }

  std::optional<std::string> Get(const std::string& key) override {
    const Clock::time_point now = clock_.Now();
    std::optional<std::string> value;
    {
      std::lock_guard lock(mu_);
      const std::size_t before = index_.size();
      value = LookupLocked(key, now);
      UpdateGauge(before);
    }
    counters_.Lookups(value ? 1 : 0, 1);
    return value;
  }

  std::vector<std::optional<std::string>> GetMany(const std::vector<std::string>& keys) override {
    const Clock::time_point now = clock_.Now();
    std::vector<std::optional<std::string>> values;
    values.reserve(keys.size());
    std::size_t found = 0;
    {
      std::lock_guard lock(mu_);
      const std::size_t before = index_.size();
      for (const std::string& key : keys) {
        values.push_back(LookupLocked(key, now));
        if (values.back()) ++found;
      }
      UpdateGauge(before);
    }
    counters_.Lookups(found, keys.size());
    return values;
  }

  void Put(const std::string& key, std::string value, std::chrono::seconds ttl) override {
    const Clock::time_point now = clock_.Now();
    std::lock_guard lock(mu_);
    const std::size_t before = index_.size();
    StoreLocked(key, std::move(value), ttl, now);
    UpdateGauge(before);
  }

  void PutMany(const std::vector<std::pair<std::string, std::string>>& entries, std::chrono::seconds ttl) override {
    const Clock::time_point now = clock_.Now();
    std::lock_guard lock(mu_);
    const std::size_t before = index_.size();
    for (const auto& [key, value] : entries) StoreLocked(key, value, ttl, now);
    UpdateGauge(before);
  }

 private:
  struct Entry {
    std::string key;
    std::string value;
    Clock::time_point expires;
    std::size_t bytes() const { return key.size() + value.size(); }
  };
  using Order = std::list<Entry>;

  std::optional<std::string> LookupLocked(const std::string& key, Clock::time_point now) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    Order::iterator entry = it->second;
    if (now >= entry->expires) {
      RemoveLocked(entry);
      return std::nullopt;
    }
    order_.splice(order_.begin(), order_, entry);
    return entry->value;
  }

  void StoreLocked(const std::string& key, std::string value, std::chrono::seconds ttl, Clock::time_point now) {
    auto it = index_.find(key);
    // Replaced either way: a value that cannot be stored must not leave the old one behind.
    if (ttl.count() <= 0 || key.size() + value.size() > max_bytes_) {
      if (it != index_.end()) RemoveLocked(it->second);
      return;
    }
    const Clock::time_point expires = now + ClampTtl(ttl);
    if (it != index_.end()) {
      Order::iterator entry = it->second;
      bytes_ = bytes_ - entry->value.size() + value.size();
      entry->value = std::move(value);
      entry->expires = expires;
      order_.splice(order_.begin(), order_, entry);
    } else {
      // A bounded amount of cleanup per insert, so that expired entries leave without a sweeper
      // thread: with one ttl for every entry (the usual case), the cold end expires first.
      for (int i = 0; i < 2 && !order_.empty() && now >= order_.back().expires; ++i) RemoveLocked(--order_.end());
      order_.push_front(Entry{key, std::move(value), expires});
      index_.emplace(order_.front().key, order_.begin());
      bytes_ += order_.front().bytes();
    }
    // The newest entry fits on its own (checked above), so this never drops it.
    while (index_.size() > max_entries_ || bytes_ > max_bytes_) RemoveLocked(--order_.end());
  }

  void RemoveLocked(Order::iterator entry) {
    bytes_ -= entry->bytes();
    index_.erase(entry->key);
    order_.erase(entry);
  }

  // Moves the gauge by the change in entries since `before` (deltas, not Set: caches with the
  // same name share the series).
  void UpdateGauge(std::size_t before) {
    const std::size_t after = index_.size();
    if (after > before) entries_gauge_.Increment(static_cast<double>(after - before));
    if (after < before) entries_gauge_.Decrement(static_cast<double>(before - after));
  }

  const core::Clock& clock_;
  const std::size_t max_entries_;
  const std::size_t max_bytes_;
  Counters counters_;
  prometheus::Gauge& entries_gauge_;  // cache_entries{cache}

  std::mutex mu_;
  Order order_;  // most recently used first; guarded by mu_
  // Into order_'s nodes, which never move; keyed by a view of the node's own key. Guarded by mu_.
  std::unordered_map<std::string_view, Order::iterator> index_;
  std::size_t bytes_ = 0;  // keys and values in order_; guarded by mu_
};

// ---- Redis ----------------------------------------------------------------------------------

// Stores KEYS[i] = ARGV[i + 1] with an expiry of ARGV[1] seconds. A script because the client
// lends a pooled connection per call, so MULTI, the SETs and EXEC could each run on a different
// connection; MSET cannot set an expiry; and a SET per entry would cost a round trip each. The
// script is one round trip (EVALSHA, so the text is sent once per server) and atomic.
constexpr std::string_view kPutManyScript = R"lua(
local ttl = ARGV[1]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl)
end
return #KEYS
)lua";

// Keys per MGET, DEL or script call: bounds the time one call holds the (single-threaded) server
// and the size of one request.
constexpr std::size_t kBatch = 1000;

// After a failure, Redis is left alone this long; failures are logged at most this often.
constexpr int64_t kPauseMs = 1000;
constexpr int64_t kLogEveryMs = 10000;

// Safe for concurrent use: the client is, and the failure bookkeeping is atomic.
class RedisCache final : public Cache {
 public:
  RedisCache(const CacheOptions& options, const core::Clock& clock, redis::RedisClient& redis)
      : name_(options.name),
        prefix_("playground:cache:" + options.name + ":"),
        clock_(clock),
        redis_(redis),
        counters_(options.name) {}

  std::string_view backend() const override { return "redis"; }

  std::optional<std::string> Get(const std::string& key) override {
    std::optional<std::string> value;
    if (!Paused()) {
      try {
        redis::Reply reply = redis_.Command({"GET", prefix_ + key});
        if (!reply.is_nil()) value = reply.str();
      } catch (const std::exception& e) {
        Failed(e);
      }
    }
    counters_.Lookups(value ? 1 : 0, 1);
    return value;
  }

  std::vector<std::optional<std::string>> GetMany(const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> values(keys.size());
    std::size_t found = 0;
    if (!keys.empty() && !Paused()) {
      try {
        for (std::size_t start = 0; start < keys.size(); start += kBatch) {
          const std::size_t end = std::min(keys.size(), start + kBatch);
          std::vector<std::string> argv;
          argv.reserve(1 + end - start);
          argv.emplace_back("MGET");
          for (std::size_t i = start; i < end; ++i) argv.push_back(prefix_ + keys[i]);
          redis::Reply reply = redis_.Command(argv);
          const std::vector<redis::Reply>& elements = reply.elements();
          if (elements.size() != end - start) {
            core::Fail(core::ErrorCode::kInternal, "redis: MGET of " + std::to_string(end - start) + " keys returned " +
                                                       std::to_string(elements.size()) + " values");
          }
          for (std::size_t i = start; i < end; ++i) {
            const redis::Reply& element = elements[i - start];
            if (element.is_nil()) continue;
            values[i] = element.str();
            ++found;
          }
        }
      } catch (const std::exception& e) {
        Failed(e);  // the keys of the failed batch and of every later one are misses
      }
    }
    counters_.Lookups(found, keys.size());
    return values;
  }

  void Put(const std::string& key, std::string value, std::chrono::seconds ttl) override {
    if (Paused()) return;
    try {
      if (ttl.count() <= 0) {
        redis_.Command({"DEL", prefix_ + key});
        return;
      }
      std::vector<std::string> argv;
      argv.reserve(5);
      argv.emplace_back("SET");
      argv.push_back(prefix_ + key);
      argv.push_back(std::move(value));
      argv.emplace_back("EX");
      argv.push_back(std::to_string(ClampTtl(ttl).count()));
      redis_.Command(argv);
    } catch (const std::exception& e) {
      Failed(e);
    }
  }

  void PutMany(const std::vector<std::pair<std::string, std::string>>& entries, std::chrono::seconds ttl) override {
    if (entries.empty() || Paused()) return;
    try {
      for (std::size_t start = 0; start < entries.size(); start += kBatch) {
        const std::size_t end = std::min(entries.size(), start + kBatch);
        std::vector<std::string> keys;
        keys.reserve(end - start + 1);
        if (ttl.count() <= 0) keys.emplace_back("DEL");
        for (std::size_t i = start; i < end; ++i) keys.push_back(prefix_ + entries[i].first);
        if (ttl.count() <= 0) {
          redis_.Command(keys);
          continue;
        }
        std::vector<std::string> args;
        args.reserve(1 + end - start);
        args.push_back(std::to_string(ClampTtl(ttl).count()));
        for (std::size_t i = start; i < end; ++i) args.push_back(entries[i].second);
        redis_.Eval(kPutManyScript, keys, args);
      }
    } catch (const std::exception& e) {
      Failed(e);  // the entries of the failed batch and of every later one are dropped
    }
  }

 private:
  // True while a recent failure says not to ask Redis; counts the skipped call as an error.
  bool Paused() {
    if (ToMillis(clock_.Now()) >= paused_until_ms_.load(std::memory_order_relaxed)) return false;
    counters_.errors.Increment();
    return true;
  }

  // Records a failed call: counts it, pauses Redis use if the server is unreachable or
  // unavailable, and logs unless a line went out recently. Other failures (an error reply such as
  // WRONGTYPE for a key someone else wrote) concern one call, not the server, so they do not pause.
  void Failed(const std::exception& e) {
    const int64_t now = ToMillis(clock_.Now());
    const auto* error = dynamic_cast<const core::Error*>(&e);
    const bool unavailable = error != nullptr && error->code() == core::ErrorCode::kUnavailable;
    counters_.errors.Increment();
    failures_since_log_.fetch_add(1, std::memory_order_relaxed);
    if (unavailable) paused_until_ms_.store(now + kPauseMs, std::memory_order_relaxed);
    int64_t last = last_log_ms_.load(std::memory_order_relaxed);
    // One thread wins the exchange and logs; the others stay quiet until the next period.
    if ((last == INT64_MIN || now - last >= kLogEveryMs) && last_log_ms_.compare_exchange_strong(last, now)) {
      nlohmann::json fields = {{"cache", name_},
                               {"error", e.what()},
                               {"failures_since_last_line", failures_since_log_.exchange(0)},
                               {"redis", redis_.redacted_url()}};
      if (error != nullptr) fields["code"] = std::string(core::ErrorCodeName(error->code()));
      core::LogWarn(unavailable ? "cache: redis unavailable; serving misses and dropping writes for a second"
                                : "cache: redis call failed; served as a miss or dropped write",
                    fields);
    }
  }

  const std::string name_;
  const std::string prefix_;  // "playground:cache:<name>:"
  const core::Clock& clock_;
  redis::RedisClient& redis_;
  Counters counters_;
  std::atomic<int64_t> paused_until_ms_{INT64_MIN};
  std::atomic<int64_t> last_log_ms_{INT64_MIN};
  std::atomic<int64_t> failures_since_log_{0};
};

}  // namespace

std::unique_ptr<Cache> MakeCache(const CacheOptions& options, const core::Clock& clock, redis::RedisClient* redis) {
  ValidateName(options.name);
  if (redis == nullptr) return std::make_unique<MemoryCache>(options, clock);
  return std::make_unique<RedisCache>(options, clock, *redis);
}

}  // namespace playground::cache

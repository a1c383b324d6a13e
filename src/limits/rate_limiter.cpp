#include "limits/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/log.h"
#include "core/metrics.h"
#include "limits/internal.h"

namespace playground::limits {

using core::ErrorCode;

Zone AuthZone() { return Zone{"auth", 5, 10}; }
Zone UploadZone() { return Zone{"upload", 1, 5}; }
Zone ApiZone() { return Zone{"api", 100, 200}; }
std::vector<Zone> DefaultZones() { return {AuthZone(), UploadZone(), ApiZone()}; }

Decision RateLimiter::TakeEach(const Zone& zone, const std::vector<std::string>& keys, double cost) {
  internal::ValidateTake(zone, cost);
  Decision all{true, std::chrono::milliseconds(0), static_cast<double>(zone.burst)};
  for (const std::string& key : keys) {
    Decision d = Take(zone, key, cost);
    if (!d.allowed) return d;
    all.remaining = std::min(all.remaining, d.remaining);
  }
  return all;
}

namespace internal {

int64_t ToMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

int64_t ToMicros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

void ValidateTake(const Zone& zone, double cost) {
  bool name_ok =
      !zone.name.empty() && zone.name.size() <= 64 && std::all_of(zone.name.begin(), zone.name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      });
  // A misconfigured zone is a bug in this program's zone table, not the client's fault.
  if (!name_ok) core::Fail(ErrorCode::kInternal, "rate limit zone name must match [a-z0-9_-]{1,64}: " + zone.name);
  if (!std::isfinite(zone.rate_per_second) || zone.rate_per_second <= 0 || zone.burst < 1) {
    core::Fail(ErrorCode::kInternal,
               "rate limit zone " + zone.name + " needs a positive rate and a burst of at least 1");
  }
  if (!std::isfinite(cost) || cost < 0) {
    core::Fail(ErrorCode::kInvalidArgument, "rate limit cost must be a finite number >= 0");
  }
  if (cost > zone.burst) {
    core::Fail(ErrorCode::kInvalidArgument, "a request costing " + std::to_string(cost) +
                                                " exceeds the burst of zone " + zone.name + " (" +
                                                std::to_string(zone.burst) + ") and could never be allowed");
  }
}

namespace {

prometheus::Family<prometheus::Counter>& FailOpenFamily() {
  static auto& family =
      prometheus::BuildCounter()
          .Name("limits_redis_fail_open_total")
          .Help("Rate-limit and login-backoff decisions made without Redis (allowed) because it failed.")
          .Register(core::Metrics::Global().registry());
  return family;
}

constexpr int64_t kPauseMs = 1000;
constexpr int64_t kLogEveryMs = 10000;

}  // namespace

RedisOutage::RedisOutage(const core::Clock& clock, std::string component)
    : clock_(clock), component_(std::move(component)), counter_(FailOpenFamily().Add({{"component", component_}})) {}

void RedisOutage::Count() {
  ++fail_open_;
  counter_.Increment();
}

bool RedisOutage::Paused() {
  if (ToMillis(clock_.Now()) >= paused_until_ms_.load(std::memory_order_relaxed)) return false;
  Count();
  return true;
}

void RedisOutage::Failed(const core::Error& e) {
  int64_t now = ToMillis(clock_.Now());
  Count();
  paused_until_ms_.store(now + kPauseMs, std::memory_order_relaxed);
  int64_t last = last_log_ms_.load(std::memory_order_relaxed);
  // One thread wins the exchange and logs; the others stay quiet until the next period.
  if ((last == INT64_MIN || now - last >= kLogEveryMs) && last_log_ms_.compare_exchange_strong(last, now)) {
    core::LogWarn("redis failed; allowing requests without it", {{"component", component_},
                                                                 {"error", e.what()},
                                                                 {"code", std::string(core::ErrorCodeName(e.code()))},
                                                                 {"fail_open_total", fail_open_.load()}});
  }
}

}  // namespace internal

namespace {

// One key's bucket. `rate` and `burst` are the zone's at the last Take, kept so that the idle
// sweep can tell a full bucket without knowing the zone.
struct Bucket {
  double tokens = 0;
  int64_t last_us = 0;
  double rate = 0;
  int burst = 0;

  double TokensAt(int64_t now_us) const {
    if (now_us <= last_us) return tokens;
    return std::min<double>(burst, tokens + static_cast<double>(now_us - last_us) * rate / 1e6);
  }
};

// Float rounding must not refuse a request at exactly the time retry_after named.
constexpr double kEpsilon = 1e-9;

// Safe for concurrent use: each bucket lives in one shard and is changed under its lock.
class MemoryRateLimiter final : public RateLimiter {
 public:
  MemoryRateLimiter(const core::Clock& clock, const MemoryRateLimiterOptions& options)
      : clock_(clock), buckets_(options.max_keys, options.shards) {}

  Decision Take(const Zone& zone, std::string_view key, double cost) override {
    internal::ValidateTake(zone, cost);
    const int64_t now = internal::ToMicros(clock_.Now());
    // Zone names cannot contain ':' (ValidateTake), so this is unambiguous for any key.
    std::string id;
    id.reserve(zone.name.size() + 1 + key.size());
    id.append(zone.name).append(":").append(key);
    return buckets_.With(id, [&](internal::LruMap<Bucket>& map) {
      map.DropStale(2, [&](const Bucket& b) { return b.TokensAt(now) >= b.burst; });
      Bucket* bucket = map.Find(id);
      Bucket fresh{static_cast<double>(zone.burst), now, zone.rate_per_second, zone.burst};
      Bucket current = bucket ? *bucket : fresh;
      current.tokens = std::min<double>(zone.burst, current.TokensAt(now));
      current.last_us = std::max(current.last_us, now);  // a clock stepping back refills nothing
      current.rate = zone.rate_per_second;
      current.burst = zone.burst;

      Decision d;
      if (current.tokens + kEpsilon >= cost) {
        current.tokens = std::max(0.0, current.tokens - cost);
        d.allowed = true;
      } else {
        d.retry_after = std::chrono::milliseconds(
            static_cast<int64_t>(std::ceil((cost - current.tokens) / zone.rate_per_second * 1000 - kEpsilon)));
        if (d.retry_after.count() < 1) d.retry_after = std::chrono::milliseconds(1);
      }
      d.remaining = current.tokens;
      if (bucket) {
        *bucket = current;
      } else if (current.tokens < zone.burst) {
        map.Insert(id, current);  // a full bucket is the same as none: keep nothing
      }
      return d;
    });
  }

  LimiterStats Stats() const override { return buckets_.Stats(); }

 private:
  const core::Clock& clock_;
  mutable internal::ShardedLru<Bucket> buckets_;
};

}  // namespace

std::unique_ptr<RateLimiter> MakeMemoryRateLimiter(const core::Clock& clock, MemoryRateLimiterOptions options) {
  return std::make_unique<MemoryRateLimiter>(clock, options);
}

}  // namespace playground::limits

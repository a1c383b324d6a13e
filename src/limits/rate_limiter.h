// Request rate limits as token buckets, per zone (a kind of request: logins, uploads, API calls)
// and key (a client address, an account). The memory backend serves one process; the Redis
// backend shares each bucket between every API process behind the load balancer.
//
// A bucket holds up to `burst` tokens and gains `rate_per_second` tokens a second; a request
// takes `cost` tokens or is refused with the time until it could succeed. Refused requests take
// nothing, so a client that keeps retrying does not push its own recovery further out.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "limits/stats.h"

namespace playground::redis {
class RedisClient;
}

namespace playground::limits {

struct Zone {
  std::string name;  // [a-z0-9_-]{1,64}; part of Redis keys and metric labels
  double rate_per_second = 0;
  // The bucket's size: requests allowed back to back after an idle spell. nginx's `burst=N
  // nodelay` admits N + 1 at once, which is burst = N + 1 here.
  int burst = 0;
};

// The seed zones (the former nginx limit_req zones), with their bursts.
Zone AuthZone();    // logins, registrations, password resets: 5 r/s, burst 10
Zone UploadZone();  // dataset uploads: 1 r/s, burst 5
Zone ApiZone();     // everything else under /api: 100 r/s, burst 200
std::vector<Zone> DefaultZones();

struct Decision {
  bool allowed = false;
  // 0 when allowed; otherwise how long until the same request would be allowed (rounded up to
  // a millisecond), e.g. for a Retry-After header.
  std::chrono::milliseconds retry_after{0};
  // Tokens left in the bucket after this decision (not rounded; a header would floor it).
  double remaining = 0;
};

// Safe for concurrent use.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Takes `cost` tokens from the bucket of (zone, key) if it holds that many. cost 0 only
  // reports the bucket. Throws core::Error(kInternal) for an invalid zone and
  // core::Error(kInvalidArgument) for a cost that is negative, not finite or larger than the
  // zone's burst (such a request could never be allowed).
  virtual Decision Take(const Zone& zone, std::string_view key, double cost = 1) = 0;
  // Take for each key in turn, stopping at the first refusal, whose decision is returned; the
  // keys before it keep what they spent, exactly as separate Takes would. When all allow, the
  // decision is allowed with the least `remaining` of them. Backends may answer in one round trip.
  virtual Decision TakeEach(const Zone& zone, const std::vector<std::string>& keys, double cost = 1);
  virtual LimiterStats Stats() const = 0;
};

struct MemoryRateLimiterOptions {
  // At most this many buckets are held; beyond it the least recently used one is dropped (see
  // MakeMemoryRateLimiter).
  size_t max_keys = 100000;
  int shards = 16;  // independent locks, to keep concurrent requests from queuing on one
};

// Buckets in this process's memory. A bucket that has refilled to full is the same as none, so
// idle buckets are dropped as they are met at the cold end of each shard's LRU list; when a shard
// is at its bound anyway (many distinct keys at once, e.g. a scan from many addresses), its least
// recently used bucket is dropped even if not full. That forgets a partly used limit (the key
// starts afresh, with a full bucket) rather than refusing a new key or growing without bound;
// LimiterStats::evictions counts it.
std::unique_ptr<RateLimiter> MakeMemoryRateLimiter(const core::Clock& clock, MemoryRateLimiterOptions options = {});

// Buckets in Redis, shared by every process using the same server: the hash `rl:<zone>:<key>`
// holds the tokens and the time of the last refill, updated atomically by a Lua script, and
// expires once the bucket would be full again.
//
// Time comes from `clock` (each process's own), passed to the script. Redis' TIME would remove
// clock skew between processes, but then tests could not drive the buckets with a ManualClock,
// and skew is small where it matters: hosts run NTP (milliseconds of skew, i.e. a fraction of a
// token at these rates), and the script never moves a bucket's time backwards, so a process
// whose clock lags refills nothing rather than refilling twice.
//
// Fails open: when Redis cannot be reached or errs, the request is allowed, counted in
// LimiterStats::fail_open and the metric limits_redis_fail_open_total, and logged at most every
// 10 seconds. An outage of the limiter's store must not become an outage of the API; the cost is
// that limits are off while Redis is down. After a failure Redis is not asked again for a second
// (every decision fails open at once), so that an unreachable server does not add its connect
// timeout to every request.
std::unique_ptr<RateLimiter> MakeRedisRateLimiter(redis::RedisClient& client, const core::Clock& clock);

}  // namespace playground::limits

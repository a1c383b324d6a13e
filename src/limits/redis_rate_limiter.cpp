#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "limits/internal.h"
#include "limits/rate_limiter.h"
#include "redis/redis_client.h"

namespace playground::limits {
namespace {

// The token buckets of KEYS, taken in turn (each a hash: t = tokens, ts = time of the last refill
// in ms), run atomically by Redis so that concurrent processes never both spend the same token.
// ARGV: rate per second, burst, cost, now in ms (the caller's clock; see the header).
// Returns {allowed 0/1, retry_after ms, remaining tokens as text}: the first refusal's, or the
// least remaining of all when every bucket allows. Lua numbers become integers on the way out,
// and the fraction matters. Buckets before a refusal keep what they spent, as separate calls
// would have. A refused request writes nothing to its bucket: its state is what the stored one
// implies at any later time. PEXPIRE lets a bucket vanish once it would be full again, which is
// when it carries no state.
constexpr std::string_view kTakeScript = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local least = burst
for _, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 't', 'ts')
  local tokens = tonumber(state[1])
  local last = tonumber(state[2])
  if tokens == nil or last == nil then
    tokens = burst
    last = now
  end
  if now > last then
    tokens = math.min(burst, tokens + (now - last) * rate / 1000)
    last = now
  end
  if tokens + 1e-9 < cost then
    local retry = math.max(1, math.ceil((cost - tokens) * 1000 / rate - 1e-9))
    return {0, retry, string.format('%.17g', tokens)}
  end
  tokens = math.max(0, tokens - cost)
  if cost > 0 then
    redis.call('HSET', key, 't', string.format('%.17g', tokens), 'ts', string.format('%d', last))
    redis.call('PEXPIRE', key, math.ceil((burst - tokens) * 1000 / rate) + 1000)
  end
  least = math.min(least, tokens)
end
return {1, 0, string.format('%.17g', least)}
)lua";

std::string Number(double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);  // shortest text that round-trips
  return std::string(buf, end);
}

double ParseDouble(const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    core::Fail(core::ErrorCode::kInternal, "rate limit script returned a malformed number: " + text);
  }
  return value;
}

// Safe for concurrent use: the client is, and the script makes each bucket update atomic.
class RedisRateLimiter final : public RateLimiter {
 public:
  RedisRateLimiter(redis::RedisClient& client, const core::Clock& clock)
      : client_(client), clock_(clock), outage_(clock, "rate_limiter") {}

  Decision Take(const Zone& zone, std::string_view key, double cost) override {
    return TakeEach(zone, {std::string(key)}, cost);
  }

  // One script call for every key: a request limited per address and per account pays one
  // round trip, not two.
  Decision TakeEach(const Zone& zone, const std::vector<std::string>& keys, double cost) override {
    internal::ValidateTake(zone, cost);
    if (outage_.Paused()) return FailOpen(zone, cost);
    std::vector<std::string> redis_keys;
    redis_keys.reserve(keys.size());
    for (const std::string& key : keys) redis_keys.push_back("rl:" + zone.name + ":" + key);
    try {
      redis::Reply reply = client_.Eval(kTakeScript, redis_keys,
                                        {Number(zone.rate_per_second), std::to_string(zone.burst), Number(cost),
                                         std::to_string(internal::ToMillis(clock_.Now()))});
      const auto& fields = reply.elements();
      if (fields.size() != 3)
        core::Fail(core::ErrorCode::kInternal, "rate limit script returned " + reply.DebugString());
      Decision d;
      d.allowed = fields[0].integer() == 1;
      d.retry_after = std::chrono::milliseconds(fields[1].integer());
      d.remaining = ParseDouble(fields[2].str());
      return d;
    } catch (const core::Error& e) {
      outage_.Failed(e);
      return FailOpen(zone, cost);
    }
  }

  LimiterStats Stats() const override {
    LimiterStats stats;
    stats.fail_open = outage_.fail_open();
    return stats;
  }

 private:
  // What a fresh bucket would answer: the best guess without the shared state.
  static Decision FailOpen(const Zone& zone, double cost) {
    return Decision{true, std::chrono::milliseconds(0), zone.burst - cost};
  }

  redis::RedisClient& client_;
  const core::Clock& clock_;
  internal::RedisOutage outage_;
};

}  // namespace

std::unique_ptr<RateLimiter> MakeRedisRateLimiter(redis::RedisClient& client, const core::Clock& clock) {
  return std::make_unique<RedisRateLimiter>(client, clock);
}

}  // namespace playground::limits

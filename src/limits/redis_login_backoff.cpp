#include <charconv>
#include <string>

#include "core/error.h"
#include "limits/internal.h"
#include "limits/login_backoff.h"
#include "redis/redis_client.h"

namespace playground::limits {
namespace {

// Records one failure for KEYS[1] (a hash: n = failures, t = time of the last one in ms)
// atomically, so that concurrent failures from several processes all count. It repeats
// BackoffDelay and BackoffExpired (login_backoff.cpp) in Lua; the tests run the same scenarios
// against both backends to keep them in step.
// ARGV: now ms, free failures, base delay ms, max delay ms, window ms, max failures.
constexpr std::string_view kFailureScript = R"lua(
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local max_failures = tonumber(ARGV[6])
local function delay(n)
  if n < free then return 0 end
  local d = math.min(base, cap)
  for _ = free + 1, n do
    if d >= cap then break end
    d = math.min(cap, d * 2)
  end
  return d
end
local state = redis.call('HMGET', KEYS[1], 'n', 't')
local n = tonumber(state[1]) or 0
local last = tonumber(state[2]) or now
if n == 0 or now >= last + delay(n) + window then
  n = 0
  last = now
end
n = math.min(n + 1, max_failures)
if now > last then last = now end
redis.call('HSET', KEYS[1], 'n', string.format('%d', n), 't', string.format('%d', last))
redis.call('PEXPIRE', KEYS[1], delay(n) + window + 1000)
return n
)lua";

constexpr int64_t kMaxFailures = 1000;

int64_t ParseInt(const redis::Reply& reply) {
  if (reply.is_nil()) return -1;
  const std::string& text = reply.str();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return -1;
  return value;
}

// Safe for concurrent use: the client is, and failures are counted by an atomic script.
class RedisLoginBackoff final : public LoginBackoff {
 public:
  RedisLoginBackoff(redis::RedisClient& client, const core::Clock& clock, BackoffPolicy policy)
      : client_(client), clock_(clock), policy_(policy), outage_(clock, "login_backoff") {}

  std::chrono::milliseconds Check(std::string_view account) override {
    if (outage_.Paused()) return std::chrono::milliseconds(0);
    try {
      redis::Reply reply = client_.Command({"HMGET", Key(account), "n", "t"});
      int64_t failures = ParseInt(reply.elements().at(0));
      int64_t last = ParseInt(reply.elements().at(1));
      if (failures <= 0 || last < 0) return std::chrono::milliseconds(0);  // none, or unreadable
      return internal::BackoffWait(policy_, failures, last, internal::ToMillis(clock_.Now()));
    } catch (const core::Error& e) {
      outage_.Failed(e);
      return std::chrono::milliseconds(0);
    }
  }

  void RecordFailure(std::string_view account) override {
    if (outage_.Paused()) return;
    try {
      client_.Eval(kFailureScript, {Key(account)},
                   {std::to_string(internal::ToMillis(clock_.Now())), std::to_string(policy_.free_failures),
                    std::to_string(policy_.base_delay.count()), std::to_string(policy_.max_delay.count()),
                    std::to_string(policy_.window.count()), std::to_string(kMaxFailures)});
    } catch (const core::Error& e) {
      outage_.Failed(e);
    }
  }

  void RecordSuccess(std::string_view account) override {
    if (outage_.Paused()) return;
    try {
      client_.Command({"DEL", Key(account)});
    } catch (const core::Error& e) {
      outage_.Failed(e);
    }
  }

  LimiterStats Stats() const override {
    LimiterStats stats;
    stats.fail_open = outage_.fail_open();
    return stats;
  }

 private:
  static std::string Key(std::string_view account) {
    std::string key = "lb:";
    key.append(account);
    return key;
  }

  redis::RedisClient& client_;
  const core::Clock& clock_;
  const BackoffPolicy policy_;
  internal::RedisOutage outage_;
};

}  // namespace

std::unique_ptr<LoginBackoff> MakeRedisLoginBackoff(redis::RedisClient& client, const core::Clock& clock,
                                                    BackoffPolicy policy) {
  return std::make_unique<RedisLoginBackoff>(client, clock, policy);
}

}  // namespace playground::limits

// Per-account backoff after failed logins: a few free failures, then an exponentially growing
// wait before the next attempt, capped so that an attacker who knows an account name can slow its
// owner down but never lock them out for good. A success clears the account's record.
//
// Intended use by the login handler: Check(account) first and refuse with Retry-After when it is
// not zero (without checking the password, so the wait cannot be probed); otherwise verify, then
// RecordSuccess or RecordFailure. Check and Record are separate calls, so parallel attempts that
// all pass Check before any failure is recorded each get one guess; the per-address `auth` rate
// limit bounds how many that can be. Pass the account as the login form names it after the
// same normalization the account lookup uses (e.g. a lowercased email), or "Alice" and "alice"
// count separately.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "core/clock.h"
#include "limits/stats.h"

namespace playground::redis {
class RedisClient;
}

namespace playground::limits {

struct BackoffPolicy {
  int free_failures = 5;                                          // failures allowed before any wait
  std::chrono::milliseconds base_delay{std::chrono::seconds(1)};  // the wait after the last free one
  std::chrono::milliseconds max_delay{std::chrono::minutes(15)};  // the cap of the doubling
  // An account's failures are forgotten once this long has passed after its wait ended without
  // another failure (so a capped account needs a quiet wait plus a window to start afresh).
  std::chrono::milliseconds window{std::chrono::minutes(15)};
};

// The wait owed after `failures` failures: 0 up to policy.free_failures - 1 failures, then
// base_delay, doubling with each further failure up to max_delay.
std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int64_t failures);

// Safe for concurrent use.
class LoginBackoff {
 public:
  virtual ~LoginBackoff() = default;
  // 0 if a login attempt for `account` may proceed now, else how long until one may.
  virtual std::chrono::milliseconds Check(std::string_view account) = 0;
  virtual void RecordFailure(std::string_view account) = 0;
  virtual void RecordSuccess(std::string_view account) = 0;
  virtual LimiterStats Stats() const = 0;
};

// Records in this process's memory, at most `max_accounts` of them (16 shards, least recently
// used dropped beyond that; dropping one forgets its failures, counted in Stats().evictions).
std::unique_ptr<LoginBackoff> MakeMemoryLoginBackoff(const core::Clock& clock, BackoffPolicy policy = {},
                                                     size_t max_accounts = 100000);

// Records in Redis (hash `lb:<account>`, expiring with the window), shared by every process.
// Times come from `clock`, as for MakeRedisRateLimiter. Fails open like it: when Redis fails,
// Check returns 0 and a failure or success goes unrecorded, counted in Stats().fail_open.
std::unique_ptr<LoginBackoff> MakeRedisLoginBackoff(redis::RedisClient& client, const core::Clock& clock,
                                                    BackoffPolicy policy = {});

}  // namespace playground::limits

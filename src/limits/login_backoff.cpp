#include "limits/login_backoff.h"

#include <algorithm>
#include <string>

#include "limits/internal.h"

namespace playground::limits {

std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int64_t failures) {
  if (failures < policy.free_failures) return std::chrono::milliseconds(0);
  const int64_t cap = std::max<int64_t>(0, policy.max_delay.count());
  int64_t delay = std::min(std::max<int64_t>(0, policy.base_delay.count()), cap);
  // Doubling stops at the cap, which also keeps the arithmetic far from overflow.
  for (int64_t i = policy.free_failures; i < failures && delay < cap; ++i) delay = std::min(cap, delay * 2);
  return std::chrono::milliseconds(delay);
}

namespace internal {

bool BackoffExpired(const BackoffPolicy& policy, int64_t failures, int64_t last_ms, int64_t now_ms) {
  return now_ms >= last_ms + BackoffDelay(policy, failures).count() + policy.window.count();
}

std::chrono::milliseconds BackoffWait(const BackoffPolicy& policy, int64_t failures, int64_t last_ms, int64_t now_ms) {
  if (BackoffExpired(policy, failures, last_ms, now_ms)) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::max<int64_t>(0, last_ms + BackoffDelay(policy, failures).count() - now_ms));
}

}  // namespace internal

namespace {

// Counting stops here: far beyond the point where the delay reaches any sensible cap.
constexpr int64_t kMaxFailures = 1000;

struct Record {
  int64_t failures = 0;
  int64_t last_ms = 0;  // time of the last failure
};

// Safe for concurrent use: each record lives in one shard and is changed under its lock.
class MemoryLoginBackoff final : public LoginBackoff {
 public:
  MemoryLoginBackoff(const core::Clock& clock, BackoffPolicy policy, size_t max_accounts)
      : clock_(clock), policy_(policy), records_(max_accounts, 16) {}

  std::chrono::milliseconds Check(std::string_view account) override {
    const int64_t now = internal::ToMillis(clock_.Now());
    return records_.With(account, [&](internal::LruMap<Record>& map) {
      DropExpired(map, now);
      const Record* r = map.Find(account);
      if (!r) return std::chrono::milliseconds(0);
      return internal::BackoffWait(policy_, r->failures, r->last_ms, now);
    });
  }

  void RecordFailure(std::string_view account) override {
    const int64_t now = internal::ToMillis(clock_.Now());
    records_.With(account, [&](internal::LruMap<Record>& map) {
      DropExpired(map, now);
      Record* r = map.Find(account);
      if (!r) r = &map.Insert(account, Record{0, now});
      if (internal::BackoffExpired(policy_, r->failures, r->last_ms, now)) *r = Record{0, now};
      r->failures = std::min(r->failures + 1, kMaxFailures);
      r->last_ms = std::max(r->last_ms, now);  // a clock stepping back must not shorten a wait
    });
  }

  void RecordSuccess(std::string_view account) override {
    records_.With(account, [&](internal::LruMap<Record>& map) { map.Erase(account); });
  }

  LimiterStats Stats() const override { return records_.Stats(); }

 private:
  void DropExpired(internal::LruMap<Record>& map, int64_t now) {
    map.DropStale(2, [&](const Record& r) { return internal::BackoffExpired(policy_, r.failures, r.last_ms, now); });
  }

  const core::Clock& clock_;
  const BackoffPolicy policy_;
  internal::ShardedLru<Record> records_;
};

}  // namespace

std::unique_ptr<LoginBackoff> MakeMemoryLoginBackoff(const core::Clock& clock, BackoffPolicy policy,
                                                     size_t max_accounts) {
  return std::make_unique<MemoryLoginBackoff>(clock, policy, max_accounts);
}

}  // namespace playground::limits

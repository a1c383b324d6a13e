// Pieces shared by the limits module's backends (private to the module): a bounded, sharded LRU
// map for the memory backends, and the fail-open bookkeeping for the Redis backends.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "limits/login_backoff.h"
#include "limits/rate_limiter.h"

namespace prometheus {
class Counter;
}

namespace playground::limits::internal {

int64_t ToMillis(std::chrono::system_clock::time_point t);
int64_t ToMicros(std::chrono::system_clock::time_point t);

// Whether an account's record of `failures` (the last at `last_ms`) is forgotten by `now_ms`:
// a whole window has passed after its wait ended.
bool BackoffExpired(const BackoffPolicy& policy, int64_t failures, int64_t last_ms, int64_t now_ms);
// How long from `now_ms` until the account may try again (0: now).
std::chrono::milliseconds BackoffWait(const BackoffPolicy& policy, int64_t failures, int64_t last_ms, int64_t now_ms);

// Throws core::Error(kInternal) for a zone no limiter can serve, kInvalidArgument for a bad cost.
void ValidateTake(const Zone& zone, double cost);

// A map that holds at most `capacity` entries, dropping the least recently used. Keys are stored
// once (the index points into the list nodes, which never move). Thread-compatible: the caller
// locks.
template <typename V>
class LruMap {
 public:
  explicit LruMap(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // The entry for `key` (marked most recently used), or nullptr.
  V* Find(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  // Adds an entry that must not exist yet, dropping the least recently used one when full.
  V& Insert(std::string_view key, V value) {
    if (index_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
      ++evictions_;
    }
    order_.emplace_front(std::string(key), std::move(value));
    index_.emplace(order_.front().first, order_.begin());
    return order_.front().second;
  }

  void Erase(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    auto node = it->second;
    index_.erase(it);
    order_.erase(node);
  }

  // Drops up to `max` entries from the cold end for which `stale(value)` holds, stopping at the
  // first that does not: a bounded amount of cleanup per call, so idle entries leave without a
  // background sweeper.
  template <typename Pred>
  void DropStale(size_t max, Pred stale) {
    for (size_t i = 0; i < max && !order_.empty() && stale(order_.back().second); ++i) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  size_t size() const { return index_.size(); }
  int64_t evictions() const { return evictions_; }

 private:
  using Node = std::pair<std::string, V>;
  const size_t capacity_;
  std::list<Node> order_;  // most recently used first
  std::unordered_map<std::string_view, typename std::list<Node>::iterator> index_;
  int64_t evictions_ = 0;
};

// LruMaps behind independent locks, chosen by the key's hash; the total bound is split evenly so
// that the sum never exceeds it. Safe for concurrent use.
template <typename V>
class ShardedLru {
 public:
  ShardedLru(size_t max_entries, int shards) {
    if (max_entries < 1) max_entries = 1;
    size_t n = static_cast<size_t>(shards < 1 ? 1 : shards);
    if (n > max_entries) n = max_entries;
    for (size_t i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>(max_entries / n));
  }

  // Runs fn(LruMap<V>&) under the lock of the shard that owns `key`.
  template <typename F>
  auto With(std::string_view key, F&& fn) {
    // The high bits of a multiplicative mix: the shard's own hash table reduces the same hash
    // modulo its size, so reusing the low bits would crowd each shard's table.
    uint64_t h = std::hash<std::string_view>()(key);
    Shard& shard = *shards_[((h * 0x9e3779b97f4a7c15ULL) >> 32) % shards_.size()];
    std::lock_guard lock(shard.mu);
    return fn(shard.map);
  }

  LimiterStats Stats() const {
    LimiterStats stats;
    for (const auto& shard : shards_) {
      std::lock_guard lock(shard->mu);
      stats.keys += static_cast<int64_t>(shard->map.size());
      stats.evictions += shard->map.evictions();
    }
    return stats;
  }

 private:
  struct Shard {
    explicit Shard(size_t capacity) : map(capacity) {}
    mutable std::mutex mu;
    LruMap<V> map;  // guarded by mu
  };
  std::vector<std::unique_ptr<Shard>> shards_;
};

// Fail-open bookkeeping for a Redis backend: counts decisions made without Redis, pauses Redis
// use for a second after a failure, and logs at most every 10 seconds. Safe for concurrent use.
class RedisOutage {
 public:
  // `component` labels the metric and log lines, e.g. "rate_limiter".
  RedisOutage(const core::Clock& clock, std::string component);

  // True while a recent failure says not to ask Redis; counts the fail-open decision.
  bool Paused();
  // Records a failed Redis call (the caller then fails open): counts, pauses, maybe logs.
  void Failed(const core::Error& e);

  int64_t fail_open() const { return fail_open_.load(); }

 private:
  void Count();

  const core::Clock& clock_;
  const std::string component_;
  prometheus::Counter& counter_;  // limits_redis_fail_open_total{component}
  std::atomic<int64_t> fail_open_{0};
  std::atomic<int64_t> paused_until_ms_{INT64_MIN};
  std::atomic<int64_t> last_log_ms_{INT64_MIN};
};

}  // namespace playground::limits::internal

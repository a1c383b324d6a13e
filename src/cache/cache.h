// Caches for the serving path. `Cache` holds byte strings with a time to live, e.g. prediction
// results keyed by model version and row content, in this process's memory or in Redis shared by
// every API process. `LruMap` keeps a bounded number of loaded objects (models) in memory and
// loads each at most once however many requests ask for it at the same time.
//
// A cache is an optimisation, never a source of truth: its operations do not fail the caller
// when the backend does. A Redis failure is a miss (Get) or a dropped write (Put).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace playground::redis {
class RedisClient;
}

namespace playground::cache {

// Byte strings by byte-string key (both binary-safe), each with its own time to live. Safe for
// concurrent use.
//
// Metrics, labelled cache=<name>: cache_hits_total and cache_misses_total count keys looked up
// (a key that failed counts as a miss); cache_errors_total counts backend calls that failed or
// were skipped while the backend was failing; cache_entries (memory backend) is the number of
// entries held, expired ones not yet dropped included.
class Cache {
 public:
  virtual ~Cache() = default;

  // "memory" or "redis".
  virtual std::string_view backend() const = 0;

  // The value if present and not expired. Does not throw for backend failures: a Redis failure
  // is a miss.
  virtual std::optional<std::string> Get(const std::string& key) = 0;

  // Many keys at once (Redis: MGET); result[i] is for keys[i]. Does not throw for backend
  // failures.
  virtual std::vector<std::optional<std::string>> GetMany(const std::vector<std::string>& keys) = 0;

  // Stores `value` for `ttl`, replacing any value of `key`. A ttl of zero or less stores nothing
  // and removes the key, so that a later Get misses either way; one beyond 100 years is cut to
  // that. Does not throw for backend failures: a Redis failure is counted and the write dropped.
  virtual void Put(const std::string& key, std::string value, std::chrono::seconds ttl) = 0;

  // Many entries at once, all with the same ttl (Redis: one script call; memory: one lock). When
  // a key occurs twice, the later entry wins. Does not throw for backend failures.
  virtual void PutMany(const std::vector<std::pair<std::string, std::string>>& entries, std::chrono::seconds ttl) = 0;
};

struct CacheOptions {
  // [a-z0-9_-]{1,64}: the metric label and the Redis key namespace, e.g. "predictions".
  std::string name = "cache";
  // Memory backend bounds: at most this many entries and this many bytes of keys and values (the
  // per-entry bookkeeping, about a hundred bytes, comes on top). Beyond either the least recently
  // used entries are dropped; a single entry larger than max_bytes is not stored.
  std::size_t max_entries = 100000;
  std::size_t max_bytes = 64u << 20;
};

// The memory backend when `redis` is null: an LRU map whose entries expire by `clock`, so that
// tests can move time. Expired entries are dropped when looked up or met at the cold end of the
// LRU order; until then they count toward the bounds.
//
// Otherwise the Redis backend: key K is stored as "playground:cache:<name>:K" with SET ... EX, so
// Redis expires it. When Redis is unreachable or unavailable (core::ErrorCode::kUnavailable from
// the client), it is not asked again for a second (by `clock`), so that a down server does not add
// its connect timeout to every request; calls skipped meanwhile count as errors. Failures are
// logged at most every 10 seconds. The memory bounds do not apply (Redis' maxmemory policy does).
//
// `clock` and `redis` must outlive the cache. Throws core::Error(kInternal) for an invalid name.
std::unique_ptr<Cache> MakeCache(const CacheOptions& options, const core::Clock& clock, redis::RedisClient* redis);

// A bounded map of shared immutable objects (e.g. loaded models) by key, dropping the least
// recently used beyond `capacity`. Safe for concurrent use. The map shares ownership: an object
// dropped from the map lives on while a caller still holds it. Objects are released outside the
// lock, so a slow destructor does not hold up other callers.
template <class V>
class LruMap {
 public:
  using Loader = std::function<std::shared_ptr<const V>()>;

  // A capacity of 0 is taken as 1.
  explicit LruMap(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
  LruMap(const LruMap&) = delete;
  LruMap& operator=(const LruMap&) = delete;

  // The object for `key` (now the most recently used), or null.
  std::shared_ptr<const V> Get(const std::string& key) {
    std::lock_guard lock(mu_);
    return FindLocked(key);
  }

  // Stores `value` as the most recently used, replacing any object of `key` and dropping the
  // least recently used beyond the capacity. A null value erases the key.
  void Put(const std::string& key, std::shared_ptr<const V> value) {
    std::vector<std::shared_ptr<const V>> released;  // destroyed after the lock is released
    std::lock_guard lock(mu_);
    SupersedeLoadLocked(key);
    StoreLocked(key, std::move(value), released);
  }

  void Erase(const std::string& key) {
    std::shared_ptr<const V> released;  // destroyed after the lock is released
    std::lock_guard lock(mu_);
    SupersedeLoadLocked(key);
    EraseLocked(key, released);
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return index_.size();
  }

  // The object for `key`, calling `load` to make it when absent. Loads at most once at a time per
  // key: callers that ask while a load of their key runs wait for it and get its result. If
  // `load` throws, the exception propagates to the caller that ran it, nothing is stored, and the
  // waiters wake and try again (one of them runs its own `load`), so a failed load is never
  // cached. A null result is returned to the caller that loaded it but not stored (waiters then
  // load themselves): a loader should throw, e.g. core::Error(kNotFound), rather than return null.
  //
  // If the key is Put or Erased while its load runs, the load's result is returned to that caller
  // but not stored, so that an Erase (e.g. of a deleted model) is never undone by a load that
  // began before it. `load` runs without the lock held and may use this map for other keys, but
  // must not ask for its own key (that would wait for itself forever).
  std::shared_ptr<const V> GetOrLoad(const std::string& key, const Loader& load) {
    std::unique_lock lock(mu_);
    for (;;) {
      if (std::shared_ptr<const V> found = FindLocked(key)) return found;
      if (!loading_.contains(key)) break;
      // One condition variable for every key: loads are rare and slow, so waking the waiters of
      // other keys costs less than keeping one per key.
      load_done_.wait(lock);
    }
    loading_.emplace(key, false);
    lock.unlock();

    std::shared_ptr<const V> value;
    try {
      value = load();
    } catch (...) {
      FinishLoad(key, nullptr);
      throw;
    }
    FinishLoad(key, value);
    return value;
  }

 private:
  using Node = std::pair<std::string, std::shared_ptr<const V>>;

  std::shared_ptr<const V> FindLocked(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  void StoreLocked(const std::string& key, std::shared_ptr<const V> value,
                   std::vector<std::shared_ptr<const V>>& released) {
    if (!value) {
      released.emplace_back();
      EraseLocked(key, released.back());
      return;
    }
    auto it = index_.find(key);
    if (it != index_.end()) {
      released.push_back(std::exchange(it->second->second, std::move(value)));
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(key, std::move(value));
    index_.emplace(order_.front().first, order_.begin());
    while (index_.size() > capacity_) {
      released.push_back(std::move(order_.back().second));
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  void EraseLocked(const std::string& key, std::shared_ptr<const V>& released) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    released = std::move(it->second->second);
    auto node = it->second;
    index_.erase(it);
    order_.erase(node);
  }

  // Ends the load of `key` however it ended: stores its result unless superseded, and wakes the
  // waiters (also if storing throws, which would otherwise leave them waiting forever).
  void FinishLoad(const std::string& key, const std::shared_ptr<const V>& value) {
    struct WakeWaiters {
      std::condition_variable& cv;
      ~WakeWaiters() { cv.notify_all(); }
    };
    std::vector<std::shared_ptr<const V>> released;  // destroyed last, after the lock is released
    WakeWaiters wake{load_done_};
    std::lock_guard lock(mu_);
    auto it = loading_.find(key);
    bool superseded = it->second;
    loading_.erase(it);
    if (!superseded && value) StoreLocked(key, value, released);
  }

  void SupersedeLoadLocked(const std::string& key) {
    auto it = loading_.find(key);
    if (it != loading_.end()) it->second = true;
  }

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable load_done_;  // notified whenever a load ends, however it ended
  std::list<Node> order_;              // most recently used first; guarded by mu_
  // Into order_'s nodes, which never move; keyed by a view of the node's own key. Guarded by mu_.
  std::unordered_map<std::string_view, typename std::list<Node>::iterator> index_;
  // Keys whose load runs now, each with whether a Put or Erase of it came since. Guarded by mu_.
  std::unordered_map<std::string, bool> loading_;
};

}  // namespace playground::cache

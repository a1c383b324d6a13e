// A bounded pool of database connections shared by both backends (private to the store module).
//
// Connections are opened lazily up to a fixed size, lent out one caller at a time through an RAII
// Lease, and checked when they come back: a connection left in a bad state (broken socket, open
// transaction) is closed instead of being reused, so the next Acquire() opens a fresh one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "core/error.h"
#include "store/store.h"

namespace playground::store::internal {

// Safe for concurrent use. `Conn` is the backend's connection wrapper; the pool owns every idle
// connection and the Lease owns a lent one. Must outlive every Lease it handed out.
template <typename Conn>
class ConnectionPool {
 public:
  // Opens a connection or throws core::Error; called without the pool's lock held.
  using Factory = std::function<std::unique_ptr<Conn>()>;
  // Whether a returned connection may be lent out again.
  using Reusable = std::function<bool(Conn&)>;

  // Moveable owner of one lent connection; gives it back to the pool when destroyed.
  // Thread-compatible: used by the one thread that acquired it.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    Conn& operator*() const { return *conn_; }
    Conn* operator->() const { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  ConnectionPool(int size, Factory factory, Reusable reusable)
      : size_(size), factory_(std::move(factory)), reusable_(std::move(reusable)) {}
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Lends an idle connection, or opens one while fewer than `size` exist; otherwise waits up to
  // `wait` for one to come back, then throws core::Error(kUnavailable).
  Lease Acquire(std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    bool ready = cv_.wait_for(lock, wait, [&] { return !idle_.empty() || open_ < size_; });
    if (!ready) {
      core::Fail(core::ErrorCode::kUnavailable, "database connection pool exhausted (all " + std::to_string(size_) +
                                                    " connections busy for " + std::to_string(wait.count()) + " ms)");
    }
    ++in_use_;
    if (!idle_.empty()) {
      // Most recently returned first: it is the least likely to have been closed by the server.
      std::unique_ptr<Conn> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // reserve the slot so that concurrent callers do not overshoot `size`
    lock.unlock();
    try {
      return Lease(this, factory_());
    } catch (...) {
      lock.lock();
      --open_;
      --in_use_;
      lock.unlock();
      cv_.notify_one();
      throw;
    }
  }

  // Closes every idle connection (e.g. after one was found broken: the others are likely
  // broken by the same server restart).
  void DropIdle() {
    std::vector<std::unique_ptr<Conn>> doomed;
    {
      std::lock_guard lock(mu_);
      doomed.swap(idle_);
      open_ -= static_cast<int>(doomed.size());
    }
    cv_.notify_all();
  }

  PoolStats Stats() const {
    std::lock_guard lock(mu_);
    return PoolStats{size_, in_use_, static_cast<int>(idle_.size())};
  }

 private:
  void Release(std::unique_ptr<Conn> conn) {
    bool reuse = reusable_(*conn);
    if (!reuse) conn.reset();  // close outside the lock: it may do network I/O
    {
      std::lock_guard lock(mu_);
      --in_use_;
      if (reuse) {
        idle_.push_back(std::move(conn));
      } else {
        --open_;
      }
    }
    cv_.notify_one();
  }

  const int size_;
  const Factory factory_;
  const Reusable reusable_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by mu_
  int open_ = 0;                             // idle + lent + being opened; guarded by mu_
  int in_use_ = 0;                           // guarded by mu_
};

}  // namespace playground::store::internal

// The time seam: code that needs "now" takes a Clock so that tests can pass a manual one
// instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>

namespace playground::core {

// Safe for concurrent use.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // The real wall clock, shared by the whole process.
  static const Clock& System();
};

// A clock that moves only when told. Safe for concurrent use.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::chrono::system_clock::time_point start = std::chrono::system_clock::time_point{})
      : now_(start.time_since_epoch().count()) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::system_clock::duration(now_.load()));
  }
  void Advance(std::chrono::system_clock::duration d) { now_ += d.count(); }

 private:
  std::atomic<std::chrono::system_clock::duration::rep> now_;
};

}  // namespace playground::core

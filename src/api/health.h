// Dependency health, probed in the background so that /health and /ready answer from memory
// (they are polled often, by load balancers and orchestrators, and must never queue behind a
// slow database).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace playground::api {

// Safe for concurrent use. Probes run on the monitor's own thread, one after another.
class HealthMonitor {
 public:
  using Probe = std::function<bool()>;

  explicit HealthMonitor(std::chrono::milliseconds interval = std::chrono::seconds(2)) : interval_(interval) {}
  ~HealthMonitor() { Stop(); }
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Registers a dependency before Start(); `required` ones must be up for readiness.
  void Add(std::string name, Probe probe, bool required);
  // Runs every probe once now (so the first answers are real), then every interval.
  void Start();
  void Stop();

  enum class State { kUnknown, kUp, kDown };
  // The last result of each registered dependency.
  std::map<std::string, State> Snapshot() const;
  // True when every required dependency answered on its last probe.
  bool Ready() const;

 private:
  struct Check {
    std::string name;
    Probe probe;
    bool required;
    std::atomic<State> state{State::kUnknown};
  };
  void ProbeAll();

  std::chrono::milliseconds interval_;
  std::vector<std::unique_ptr<Check>> checks_;  // fixed after Start()
  std::thread thread_;
  std::mutex mu_;  // guards stop_
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace playground::api

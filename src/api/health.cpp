#include "api/health.h"

#include "core/log.h"

namespace playground::api {

void HealthMonitor::Add(std::string name, Probe probe, bool required) {
  auto c = std::make_unique<Check>();
  c->name = std::move(name);
  c->probe = std::move(probe);
  c->required = required;
  checks_.push_back(std::move(c));
}

void HealthMonitor::ProbeAll() {
  for (auto& c : checks_) {
    bool up = false;
    try {
      up = c->probe();
    } catch (const std::exception& e) {
      up = false;
    }
    State next = up ? State::kUp : State::kDown;
    State prev = c->state.exchange(next);
    if (prev != next && prev != State::kUnknown) {
      core::Log(up ? core::LogLevel::kInfo : core::LogLevel::kWarn, up ? "dependency up" : "dependency down",
                {{"dependency", c->name}});
    }
  }
}

void HealthMonitor::Start() {
  ProbeAll();
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      ProbeAll();
      lock.lock();
    }
  });
}

void HealthMonitor::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::map<std::string, HealthMonitor::State> HealthMonitor::Snapshot() const {
  std::map<std::string, State> out;
  for (const auto& c : checks_) out[c->name] = c->state.load();
  return out;
}

bool HealthMonitor::Ready() const {
  for (const auto& c : checks_) {
    if (c->required && c->state.load() != State::kUp) return false;
  }
  return true;
}

}  // namespace playground::api

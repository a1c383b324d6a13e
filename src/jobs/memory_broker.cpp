#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_set>

#include "jobs/broker.h"

namespace playground::jobs {
namespace {

// Safe for concurrent use: every member is guarded by mu_.
class MemoryBroker final : public Broker {
 public:
  void Publish(const std::vector<std::string>& job_ids) override {
    size_t added = 0;
    {
      std::lock_guard lock(mu_);
      for (const auto& id : job_ids) {
        if (held_.insert(id).second) {
          ids_.push_back(id);
          ++added;
        }
      }
    }
    if (added == 1) cv_.notify_one();
    if (added > 1) cv_.notify_all();
  }

  std::vector<Delivery> Next(const std::string& /*consumer*/, std::chrono::milliseconds wait, size_t max) override {
    std::unique_lock lock(mu_);
    uint64_t generation = wake_generation_;
    cv_.wait_for(lock, wait, [&] { return !ids_.empty() || wake_generation_ != generation; });
    std::vector<Delivery> out;
    while (!ids_.empty() && out.size() < std::max<size_t>(max, 1)) {
      out.push_back(Delivery{std::move(ids_.front()), ""});
      ids_.pop_front();
      held_.erase(out.back().job_id);
    }
    return out;
  }

  void Ack(const std::vector<Delivery>& /*deliveries*/) override {}

  void Maintain(const std::vector<std::string>& due, const std::string& /*consumer*/,
                std::chrono::milliseconds /*stale_after*/) override {
    Publish(due);
  }

  void WakeAll() override {
    {
      std::lock_guard lock(mu_);
      ++wake_generation_;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ids_;           // waiting for a worker, oldest first
  std::unordered_set<std::string> held_;  // the ids in ids_, so that none is queued twice
  uint64_t wake_generation_ = 0;
};

}  // namespace

std::unique_ptr<Broker> MakeMemoryBroker() { return std::make_unique<MemoryBroker>(); }

}  // namespace playground::jobs

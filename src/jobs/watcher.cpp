#include "jobs/watcher.h"

#include "core/log.h"

namespace playground::jobs {

JobWatcher::JobWatcher(JobStore& store, std::chrono::milliseconds interval)
    : store_(store), interval_(interval), thread_([this] { Loop(); }) {}

JobWatcher::~JobWatcher() { Stop(); }

void JobWatcher::Watch(std::string job_id, std::function<bool(const Job&)> on_change, std::function<bool()> wanted) {
  {
    std::lock_guard lock(mu_);
    watches_.push_back({std::move(job_id), std::move(on_change), std::move(wanted)});
  }
  cv_.notify_all();
}

void JobWatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    watches_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JobWatcher::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    std::vector<Watch_> current;
    current.swap(watches_);
    lock.unlock();
    std::vector<Watch_> keep;
    for (Watch_& w : current) {
      try {
        if (w.wanted && !w.wanted()) continue;
        std::optional<Job> job = store_.Get(w.job_id);
        if (!job) continue;
        bool changed = job->updated_at_us != w.seen_updated_at || job->state != w.seen_state;
        if (changed) {
          w.seen_updated_at = job->updated_at_us;
          w.seen_state = job->state;
          if (!w.on_change(*job) || IsTerminal(job->state)) continue;
        }
      } catch (const std::exception& e) {
        core::LogWarn("cannot read a watched job", {{"job_id", w.job_id}, {"error", e.what()}});
      }
      keep.push_back(std::move(w));
    }
    lock.lock();
    // Watches added while polling are in watches_ now; keep both.
    for (Watch_& w : keep) watches_.push_back(std::move(w));
    if (stop_) break;
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

}  // namespace playground::jobs

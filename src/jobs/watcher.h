// Live job updates for server-sent events: watches jobs by polling the database (the jobs may
// run in another process) and calls back when one changes, on a thread of its own so that no
// request thread waits for a job.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jobs/job_store.h"

namespace playground::jobs {

// Safe for concurrent use.
class JobWatcher {
 public:
  JobWatcher(JobStore& store, std::chrono::milliseconds interval);
  ~JobWatcher();
  JobWatcher(const JobWatcher&) = delete;
  JobWatcher& operator=(const JobWatcher&) = delete;

  // Calls `on_change` from the watcher's thread with the job at the next poll and whenever it
  // changes after that, until it returns false, the job finishes (the finished job is passed
  // first) or disappears (never called). `on_change` must not block.
  // `wanted`, checked at every poll, drops the watch when it returns false (the client left).
  void Watch(std::string job_id, std::function<bool(const Job&)> on_change, std::function<bool()> wanted);
  // Ends the thread; pending watches are dropped. Idempotent.
  void Stop();

 private:
  struct Watch_ {
    std::string job_id;
    std::function<bool(const Job&)> on_change;
    std::function<bool()> wanted;
    int64_t seen_updated_at = -1;
    JobState seen_state = JobState::kQueued;
  };
  void Loop();

  JobStore& store_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Watch_> watches_;  // guarded by mu_
  bool stop_ = false;            // guarded by mu_
  std::thread thread_;
};

}  // namespace playground::jobs

// Recurring schedules: a cron expression in a time zone and a job template. Every process that
// runs a Scheduler ticks, but only the holder of the "scheduler" lease (a row in the database)
// fires, and each firing moves the schedule's next_run_at forward with a compare-and-set in the
// same transaction that records the job, so one period fires once however many processes run.
// A run missed while nothing was running fires once when the lease holder next ticks, not once
// per missed period.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "jobs/queue.h"
#include "store/store.h"

namespace playground::jobs {

struct Schedule {
  std::string id;
  std::string owner_id;
  std::string name;
  std::string cron;
  std::string timezone;
  std::string job_type;
  nlohmann::json params = nlohmann::json::object();
  int max_attempts = 0;
  bool paused = false;
  int64_t next_run_at_us = 0;
  int64_t last_run_at_us = 0;  // 0: never
  std::string last_job_id;
  int64_t created_at_us = 0;
};

nlohmann::json ToJson(const Schedule& s);

struct NewSchedule {
  std::string owner_id;
  std::string name;
  std::string cron;
  std::string timezone = "UTC";
  std::string job_type;
  nlohmann::json params = nlohmann::json::object();
  int max_attempts = 0;  // 0: the queue's default
};

// Safe for concurrent use. Start() and Stop() are called once each, from one thread.
class Scheduler {
 public:
  // `lease_ttl`: how long a silent lease holder keeps the role before another process takes it.
  Scheduler(JobQueue& queue, store::Store& db, const core::Clock& clock, std::chrono::milliseconds lease_ttl);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Throws core::Error(kValidation) for a bad cron expression, time zone, job type or parameters.
  Schedule Create(const NewSchedule& s);
  std::optional<Schedule> Get(const std::string& id);
  // `owner_id` "" lists every schedule.
  std::vector<Schedule> List(const std::string& owner_id);
  // Resuming computes the next run from now: periods missed while paused do not fire.
  Schedule SetPaused(const std::string& id, bool paused);
  // Throws kNotFound.
  void Delete(const std::string& id);

  // Fires every due schedule if this process holds (or takes) the lease; returns the number of
  // jobs created. Never throws (failures are logged).
  int Tick();

  // Ticks every `interval` on a thread of its own.
  void Start(std::chrono::milliseconds interval);
  void Stop();

  const std::string& holder() const { return holder_; }

 private:
  bool HoldLease(int64_t now_us);

  JobQueue& queue_;
  store::Store& db_;
  const core::Clock& clock_;
  const std::chrono::milliseconds lease_ttl_;
  const std::string holder_;  // this instance's name in the lease table

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace playground::jobs

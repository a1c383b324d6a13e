#include "jobs/queue.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/random.h"
#include "jobs/broker.h"

namespace playground::jobs {
namespace {

using core::ErrorCode;
using Clock = std::chrono::steady_clock;

// The metric families of the job machinery, registered once per process. Safe for concurrent use.
struct JobMetrics {
  prometheus::Family<prometheus::Counter>& total;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Family<prometheus::Counter>& retries;
  prometheus::Gauge& queue_depth;
  prometheus::Gauge& workers_busy;

  static JobMetrics& Get() {
    static JobMetrics m = [] {
      auto& reg = core::Metrics::Global().registry();
      return JobMetrics{
          prometheus::BuildCounter()
              .Name("jobs_total")
              .Help("Jobs that entered each state (queued, running, succeeded, failed, cancelled) in this process")
              .Register(reg),
          prometheus::BuildHistogram()
              .Name("job_duration_seconds")
              .Help("Run time of job attempts, by job type")
              .Register(reg),
          prometheus::BuildCounter()
              .Name("job_retries_total")
              .Help("Attempts scheduled again after a transient "
                    "failure, by job type")
              .Register(reg),
          prometheus::BuildGauge()
              .Name("queue_depth")
              .Help("Jobs waiting to start (queued), across every process sharing the database")
              .Register(reg)
              .Add({}),
          prometheus::BuildGauge()
              .Name("workers_busy")
              .Help("Worker threads of this process running a job")
              .Register(reg)
              .Add({}),
      };
    }();
    return m;
  }

  void Count(const std::string& type, JobState state) {
    total.Add({{"type", type}, {"state", std::string(StateName(state))}}).Increment();
  }
  void Observe(const std::string& type, double seconds) {
    static const prometheus::Histogram::BucketBoundaries kBuckets = {0.001, 0.01, 0.1, 1, 10, 60, 300, 900, 3600};
    duration.Add({{"type", type}}, kBuckets).Observe(seconds);
  }
};

std::string MakeWorkerId(const std::string& role) {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return role + "@" + host + ":" + std::to_string(getpid()) + ":" + core::RandomHex(4);
}

// Logs a recurring failure at most once per interval. Safe for concurrent use.
class ThrottledLog {
 public:
  void Error(std::string_view msg, const nlohmann::json& fields) {
    auto now = Clock::now();
    std::lock_guard lock(mu_);
    if (now - last_ < std::chrono::seconds(5)) return;
    last_ = now;
    core::LogError(msg, fields);
  }

 private:
  std::mutex mu_;
  Clock::time_point last_{};  // guarded by mu_
};

// Thread-compatible: used by the one worker thread that runs the task.
class RunContext final : public TaskContext {
 public:
  RunContext(JobStore& store, const Job& job, std::shared_ptr<CancellationToken> token)
      : store_(store), job_(job), token_(std::move(token)) {}

  const std::string& job_id() const override { return job_.id; }
  const nlohmann::json& params() const override { return job_.params; }
  int attempt() const override { return job_.attempt; }
  const CancellationToken& cancellation() const override { return *token_; }
  void SetResult(nlohmann::json result) override { result_ = std::move(result); }
  void Progress(double fraction, const std::string& message) override {
    auto now = Clock::now();
    if (fraction < 1.0 && now - last_write_ < std::chrono::milliseconds(200)) return;
    last_write_ = now;
    try {
      store_.SetProgress(job_.id, job_.attempt, fraction, message);
    } catch (const std::exception& e) {
      core::LogWarn("cannot record job progress", {{"job_id", job_.id}, {"error", e.what()}});
    }
  }
  const nlohmann::json& result() const { return result_; }

 private:
  JobStore& store_;
  const Job& job_;
  std::shared_ptr<CancellationToken> token_;
  nlohmann::json result_;
  Clock::time_point last_write_{};
};

enum class Outcome { kSucceeded, kTransient, kPermanent, kCancelled, kShutdown };

// Runs the task and classifies how it ended; never throws.
Outcome RunTask(const TaskType* type, RunContext& ctx, const CancellationToken& token, std::string& error) {
  if (type == nullptr) {
    error = "this worker does not know the job type";
    return Outcome::kPermanent;
  }
  try {
    type->run(ctx);
    return Outcome::kSucceeded;
  } catch (const Cancelled&) {
    return token.reason() == StopReason::kShutdown ? Outcome::kShutdown : Outcome::kCancelled;
  } catch (const TransientError& e) {
    error = e.what();
    return Outcome::kTransient;
  } catch (const core::Error& e) {
    error = e.what();
    bool transient = e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kTimeout;
    return transient ? Outcome::kTransient : Outcome::kPermanent;
  } catch (const std::exception& e) {
    error = e.what();
    return Outcome::kPermanent;
  } catch (...) {
    error = "the task failed with an unknown exception";
    return Outcome::kPermanent;
  }
}

// A job this process has claimed and not started yet.
struct Claimed {
  Delivery delivery;
  Job job;
  std::shared_ptr<CancellationToken> token;
  Clock::time_point at;
};

// A success waiting for the recorder thread.
struct Finished {
  Delivery delivery;
  std::string job_id;
  std::string type;
  int attempt = 0;
  nlohmann::json result;
};

// Safe for concurrent use (see JobQueue). running_, claimed_ and the stop flags are guarded by
// mu_; finished_ and recorder_stop_ by record_mu_.
//
// Batching (docs/jobs.md): a worker thread with nothing claimed reads up to `fetch` deliveries
// from the broker and claims them in one transaction; `fetch` starts at 1 and doubles (up to
// QueueOptions::prefetch) while every read comes back full, i.e. while a backlog waits, so a
// lone job never waits behind another. The claimed jobs are shared by this process's threads;
// one not started within the prefetch lease goes back to the queue. Successes are recorded by
// one recorder thread, all that are waiting in one transaction, then acknowledged together.
class Queue final : public JobQueue {
 public:
  Queue(const QueueOptions& o, store::Store& db, const TaskRegistry& tasks, const core::Clock& clock,
        std::unique_ptr<Broker> broker)
      : options_(o),
        tasks_(tasks),
        store_(db, clock),
        broker_(std::move(broker)),
        worker_id_(MakeWorkerId(o.role)),
        metrics_(JobMetrics::Get()) {}
  ~Queue() override { Stop(); }

  std::string_view backend() const override { return options_.redis_url.empty() ? "embedded" : "redis"; }
  const std::string& worker_id() const override { return worker_id_; }
  JobStore& jobs() override { return store_; }
  const TaskRegistry& tasks() const override { return tasks_; }
  const QueueOptions& options() const override { return options_; }

  void Start() override {
    for (int i = 0; i < options_.concurrency; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    if (options_.concurrency > 0) {
      heartbeat_ = std::thread([this] { HeartbeatLoop(); });
      recorder_ = std::thread([this] { RecorderLoop(); });
    }
    maintenance_ = std::thread([this] { MaintenanceLoop(); });
    core::LogInfo(
        "job queue started",
        {{"backend", std::string(backend())}, {"worker_id", worker_id_}, {"concurrency", options_.concurrency}});
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    broker_->WakeAll();
    ReleaseClaimed(/*older_than=*/std::nullopt);
    {
      // Running jobs may finish within the grace period; then they are interrupted and released.
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, options_.shutdown_grace, [this] { return running_.empty(); })) {
        for (auto& [id, token] : running_) token->Request(StopReason::kShutdown);
      }
    }
    for (auto& t : workers_) t.join();
    workers_.clear();
    {
      std::lock_guard lock(record_mu_);
      recorder_stop_ = true;
    }
    record_cv_.notify_all();
    if (recorder_.joinable()) recorder_.join();
    {
      std::lock_guard lock(mu_);
      loops_stopped_ = true;
    }
    cv_.notify_all();
    if (heartbeat_.joinable()) heartbeat_.join();
    if (maintenance_.joinable()) maintenance_.join();
  }

  Job Enqueue(NewJob job) override {
    const TaskType* type = tasks_.Find(job.type);
    if (type == nullptr) core::Fail(ErrorCode::kValidation, "type: no job type called '" + job.type + "'");
    if (job.params.is_null()) job.params = nlohmann::json::object();
    if (!job.params.is_object()) core::Fail(ErrorCode::kValidation, "params: must be a JSON object");
    if (type->validate) type->validate(job.params);
    if (job.max_attempts <= 0) job.max_attempts = options_.default_max_attempts;
    Job out = store_.Insert(job);
    metrics_.Count(out.type, JobState::kQueued);
    Publish(out.id);
    return out;
  }

  void Publish(const std::string& job_id) override {
    if (!delivers_) return;
    try {
      broker_->Publish({job_id});
    } catch (const std::exception& e) {
      // The job is recorded; the maintenance loop publishes it when the broker is back.
      publish_log_.Error("cannot publish a job; it will be published again", {{"job_id", job_id}, {"error", e.what()}});
    }
  }

  Job Cancel(const std::string& id) override {
    Job job = store_.RequestCancel(id);
    if (job.state == JobState::kCancelled) metrics_.Count(job.type, JobState::kCancelled);
    std::lock_guard lock(mu_);
    if (auto it = running_.find(id); it != running_.end()) it->second->Request(StopReason::kCancelled);
    return job;
  }

  Job Retry(const std::string& id) override {
    Job job = store_.Retry(id);
    metrics_.Count(job.type, JobState::kQueued);
    Publish(job.id);
    return job;
  }

 private:
  bool Stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Waits up to `d` unless the loops are told to stop; false when they are.
  bool Pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return loops_stopped_; });
  }

  void WorkerLoop() {
    size_t fetch = 1;
    while (!Stopping()) {
      if (auto next = TakeClaimed()) {
        RunClaimed(*next);
        continue;
      }
      size_t got = FetchAndClaim(fetch);
      size_t most = static_cast<size_t>(std::max(1, options_.prefetch));
      fetch = got == fetch ? std::min(fetch * 2, most) : 1;
    }
  }

  std::optional<Claimed> TakeClaimed() {
    std::lock_guard lock(mu_);
    if (stopping_ || claimed_.empty()) return std::nullopt;
    Claimed c = std::move(claimed_.front());
    claimed_.pop_front();
    return c;
  }

  // Reads up to `max` deliveries and claims their jobs; returns how many deliveries it read.
  size_t FetchAndClaim(size_t max) {
    std::vector<Delivery> deliveries;
    try {
      deliveries = broker_->Next(worker_id_, std::chrono::milliseconds(1000), max);
    } catch (const std::exception& e) {
      broker_log_.Error("cannot read from the job broker", {{"error", e.what()}});
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
      return 0;
    }
    if (deliveries.empty()) return 0;
    if (Stopping()) {
      // Taken while shutting down: hand them straight back for another worker.
      AckQuietly(deliveries);
      for (const auto& d : deliveries) Publish(d.job_id);
      return deliveries.size();
    }
    std::vector<std::string> ids;
    ids.reserve(deliveries.size());
    for (const auto& d : deliveries) ids.push_back(d.job_id);
    std::vector<Job> jobs;
    try {
      jobs = store_.ClaimMany(ids, worker_id_);
    } catch (const std::exception& e) {
      // Not acknowledged: the broker or the maintenance loop delivers them again.
      db_log_.Error("cannot claim jobs", {{"job_ids", ids}, {"error", e.what()}});
      return deliveries.size();
    }
    std::unordered_map<std::string, Job*> by_id;
    for (Job& job : jobs) by_id[job.id] = &job;
    std::vector<Delivery> not_runnable;  // cancelled, finished, running elsewhere or not due
    std::vector<Claimed> claimed;
    auto now = Clock::now();
    for (auto& d : deliveries) {
      auto it = by_id.find(d.job_id);
      if (it == by_id.end()) {
        not_runnable.push_back(std::move(d));
        continue;
      }
      claimed.push_back(Claimed{std::move(d), std::move(*it->second), std::make_shared<CancellationToken>(), now});
      by_id.erase(it);  // a repeated delivery of one job is claimed once
    }
    AckQuietly(not_runnable);
    bool release = false;
    {
      std::lock_guard lock(mu_);
      release = stopping_;
      if (!release) {
        for (auto& c : claimed) {
          running_[c.job.id] = c.token;
          claimed_.push_back(std::move(c));
        }
      }
    }
    if (release) {
      for (const auto& c : claimed) Release(c);
    }
    return deliveries.size();
  }

  // Claimed jobs go back to the queue: all of them (shutdown), or those claimed before
  // `older_than` (the prefetch lease ran out while this process's threads were busy).
  void ReleaseClaimed(std::optional<Clock::time_point> older_than) {
    std::vector<Claimed> out;
    {
      std::lock_guard lock(mu_);
      while (!claimed_.empty() && (!older_than || claimed_.front().at < *older_than)) {
        out.push_back(std::move(claimed_.front()));
        claimed_.pop_front();
      }
    }
    for (const auto& c : out) Release(c);
    if (!out.empty()) cv_.notify_all();
  }

  // Never throws.
  void Release(const Claimed& c) {
    std::optional<JobState> state;
    try {
      state = store_.Release(c.job.id, c.job.attempt);
    } catch (const std::exception& e) {
      // Still running under this worker's id: handed to another once its heartbeat stops.
      db_log_.Error("cannot release a claimed job", {{"job_id", c.job.id}, {"error", e.what()}});
    }
    {
      std::lock_guard lock(mu_);
      running_.erase(c.job.id);
    }
    if (!state) return;
    AckQuietly({c.delivery});
    if (state == JobState::kQueued) Publish(c.job.id);
    if (state == JobState::kCancelled) metrics_.Count(c.job.type, JobState::kCancelled);
  }

  void AckQuietly(const std::vector<Delivery>& deliveries) {
    if (deliveries.empty()) return;
    try {
      broker_->Ack(deliveries);
    } catch (const std::exception& e) {
      broker_log_.Error("cannot acknowledge job deliveries", {{"error", e.what()}});
    }
  }

  // A job cancelled (or stopped by a shutdown) between its claim and its turn is recorded without
  // running, so it is not counted as running nor timed.
  void RunClaimed(const Claimed& c) {
    const Job& job = c.job;
    metrics_.workers_busy.Increment();
    RunContext ctx(store_, job, c.token);
    std::string error;
    Outcome outcome = Outcome::kCancelled;
    if (!c.token->cancelled()) {
      metrics_.Count(job.type, JobState::kRunning);
      auto start = Clock::now();
      outcome = RunTask(tasks_.Find(job.type), ctx, *c.token, error);
      metrics_.Observe(job.type, std::chrono::duration<double>(Clock::now() - start).count());
    } else if (c.token->reason() == StopReason::kShutdown) {
      outcome = Outcome::kShutdown;
    }
    if (outcome == Outcome::kSucceeded) {
      {
        std::lock_guard lock(record_mu_);
        finished_.push_back(Finished{c.delivery, job.id, job.type, job.attempt, ctx.result()});
      }
      record_cv_.notify_one();
    } else {
      Record(c.delivery, job, outcome, error);
    }
    metrics_.workers_busy.Decrement();
    {
      std::lock_guard lock(mu_);
      running_.erase(job.id);
    }
    cv_.notify_all();
  }

  // Records every success waiting, in one transaction per turn, then acknowledges them. A failed
  // turn is tried again after a pause; at shutdown what cannot be recorded stays unacknowledged
  // and the jobs running, so they are redelivered once this worker's heartbeat stops.
  void RecorderLoop() {
    std::unique_lock lock(record_mu_);
    for (;;) {
      record_cv_.wait(lock, [this] { return !finished_.empty() || recorder_stop_; });
      if (finished_.empty()) return;
      std::vector<Finished> batch;
      batch.swap(finished_);
      lock.unlock();
      bool recorded = RecordSuccesses(batch);
      lock.lock();
      if (recorded) continue;
      if (recorder_stop_) return;
      finished_.insert(finished_.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
      record_cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return recorder_stop_; });
    }
  }

  bool RecordSuccesses(const std::vector<Finished>& batch) {
    std::vector<JobStore::Success> successes;
    successes.reserve(batch.size());
    for (const auto& f : batch) successes.push_back({f.job_id, f.result});
    std::vector<bool> recorded;
    try {
      recorded = store_.SucceedMany(successes);
    } catch (const std::exception& e) {
      db_log_.Error("cannot record jobs' results; trying again", {{"jobs", batch.size()}, {"error", e.what()}});
      return false;
    }
    std::vector<Delivery> deliveries;
    deliveries.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      const Finished& f = batch[i];
      if (recorded[i]) {
        metrics_.Count(f.type, JobState::kSucceeded);
        core::LogInfo("job succeeded", {{"job_id", f.job_id}, {"type", f.type}, {"attempt", f.attempt}});
      } else {
        core::LogInfo("job already completed by another attempt", {{"job_id", f.job_id}, {"attempt", f.attempt}});
      }
      deliveries.push_back(f.delivery);
    }
    AckQuietly(deliveries);
    return true;
  }

  // Stores how an attempt that did not succeed ended; never throws. A failure to store leaves
  // the delivery unacknowledged and the job running, so it is redelivered once its heartbeat is
  // stale.
  void Record(const Delivery& d, const Job& job, Outcome outcome, const std::string& error) {
    try {
      bool release = false;
      switch (outcome) {
        case Outcome::kSucceeded: break;  // the recorder's
        case Outcome::kCancelled:
          if (store_.MarkCancelled(job.id, job.attempt)) metrics_.Count(job.type, JobState::kCancelled);
          break;
        case Outcome::kShutdown: release = store_.Release(job.id, job.attempt) == JobState::kQueued; break;
        case Outcome::kTransient:
        case Outcome::kPermanent: {
          thread_local std::mt19937_64 rng{std::random_device{}()};
          double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
          auto delay = BackoffDelay(job.attempt, options_.retry_base, options_.retry_cap, u);
          auto result_of = store_.Fail(job.id, job.attempt, error, outcome == Outcome::kTransient, delay);
          if (result_of == JobStore::FailOutcome::kRetrying) {
            metrics_.retries.Add({{"type", job.type}}).Increment();
            core::LogWarn(
                "job attempt failed; retrying",
                {{"job_id", job.id}, {"attempt", job.attempt}, {"delay_ms", delay.count()}, {"error", error}});
          } else if (result_of == JobStore::FailOutcome::kFailed) {
            metrics_.Count(job.type, JobState::kFailed);
            core::LogWarn("job failed", {{"job_id", job.id}, {"attempt", job.attempt}, {"error", error}});
          }
          break;
        }
      }
      broker_->Ack({d});
      if (release) broker_->Publish({job.id});
    } catch (const std::exception& e) {
      db_log_.Error("cannot record a job's outcome", {{"job_id", job.id}, {"error", e.what()}});
    }
  }

  void HeartbeatLoop() {
    while (Pause(options_.heartbeat_interval)) {
      try {
        std::vector<std::string> cancel = store_.Heartbeat(worker_id_);
        std::lock_guard lock(mu_);
        for (const auto& id : cancel) {
          if (auto it = running_.find(id); it != running_.end()) it->second->Request(StopReason::kCancelled);
        }
      } catch (const std::exception& e) {
        db_log_.Error("cannot send job heartbeats", {{"error", e.what()}});
      }
    }
  }

  void MaintenanceLoop() {
    do {
      ReleaseClaimed(Clock::now() - options_.prefetch_lease);
      try {
        int64_t stale_before =
            store_.NowUs() - std::chrono::duration_cast<std::chrono::microseconds>(options_.stale_after).count();
        std::vector<std::string> stale = store_.RequeueStale(stale_before);
        if (!stale.empty()) core::LogWarn("jobs of a silent worker queued again", {{"job_ids", stale}});
        if (delivers_) {
          std::vector<std::string> due = store_.DueQueued(1000);
          broker_->Maintain(due, options_.concurrency > 0 ? worker_id_ : "", options_.stale_after);
        }
        metrics_.queue_depth.Set(static_cast<double>(store_.CountQueued()));
      } catch (const std::exception& e) {
        maintenance_log_.Error("job queue maintenance failed", {{"error", e.what()}});
      }
    } while (Pause(options_.poll_interval));
  }

  const QueueOptions options_;
  const TaskRegistry& tasks_;
  JobStore store_;
  std::unique_ptr<Broker> broker_;
  const std::string worker_id_;
  // False for an embedded queue without worker threads: nobody could take what it publishes.
  const bool delivers_ = !options_.redis_url.empty() || options_.concurrency > 0;
  JobMetrics& metrics_;
  ThrottledLog broker_log_, db_log_, publish_log_, maintenance_log_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;       // guarded by mu_
  bool loops_stopped_ = false;  // guarded by mu_
  // Cancellation tokens of the jobs this process has claimed, started or not.
  std::map<std::string, std::shared_ptr<CancellationToken>> running_;  // guarded by mu_
  std::deque<Claimed> claimed_;                                        // guarded by mu_; oldest first
  std::mutex record_mu_;
  std::condition_variable record_cv_;
  std::vector<Finished> finished_;  // guarded by record_mu_
  bool recorder_stop_ = false;      // guarded by record_mu_
  std::vector<std::thread> workers_;
  std::thread heartbeat_;
  std::thread recorder_;
  std::thread maintenance_;
};

}  // namespace

std::unique_ptr<JobQueue> MakeJobQueue(const QueueOptions& options, store::Store& db, const TaskRegistry& tasks,
                                       const core::Clock& clock) {
  std::unique_ptr<Broker> broker;
  if (options.redis_url.empty()) {
    broker = MakeMemoryBroker();
  } else {
    RedisBrokerOptions ro;
    ro.url = options.redis_url;
    ro.pool_size = options.concurrency + 4;
    broker = MakeRedisBroker(ro);
  }
  return std::make_unique<Queue>(options, db, tasks, clock, std::move(broker));
}

}  // namespace playground::jobs

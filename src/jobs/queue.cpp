#include "jobs/queue.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

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

// Safe for concurrent use (see JobQueue). running_ and the stop flags are guarded by mu_.
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
    if (options_.concurrency > 0) heartbeat_ = std::thread([this] { HeartbeatLoop(); });
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
    while (!Stopping()) {
      std::optional<Delivery> d;
      try {
        d = broker_->Next(worker_id_, std::chrono::milliseconds(1000));
      } catch (const std::exception& e) {
        broker_log_.Error("cannot read from the job broker", {{"error", e.what()}});
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
        continue;
      }
      if (!d) continue;
      if (Stopping()) {
        // Taken while shutting down: hand it straight back for another worker.
        AckQuietly(*d);
        Publish(d->job_id);
        continue;
      }
      RunDelivery(*d);
    }
  }

  void AckQuietly(const Delivery& d) {
    try {
      broker_->Ack(d);
    } catch (const std::exception& e) {
      broker_log_.Error("cannot acknowledge a job delivery", {{"job_id", d.job_id}, {"error", e.what()}});
    }
  }

  void RunDelivery(const Delivery& d) {
    std::optional<Job> job;
    try {
      job = store_.Claim(d.job_id, worker_id_);
    } catch (const std::exception& e) {
      // Not acknowledged: the broker or the maintenance loop delivers it again.
      db_log_.Error("cannot claim a job", {{"job_id", d.job_id}, {"error", e.what()}});
      return;
    }
    if (!job) {
      AckQuietly(d);  // cancelled, finished, running elsewhere or not due: nothing to do here
      return;
    }
    auto token = std::make_shared<CancellationToken>();
    {
      std::lock_guard lock(mu_);
      running_[job->id] = token;
    }
    metrics_.workers_busy.Increment();
    metrics_.Count(job->type, JobState::kRunning);
    RunContext ctx(store_, *job, token);
    std::string error;
    auto start = Clock::now();
    Outcome outcome = RunTask(tasks_.Find(job->type), ctx, *token, error);
    metrics_.Observe(job->type, std::chrono::duration<double>(Clock::now() - start).count());
    Record(d, *job, outcome, error, ctx.result());
    metrics_.workers_busy.Decrement();
    {
      std::lock_guard lock(mu_);
      running_.erase(job->id);
    }
    cv_.notify_all();
  }

  // Stores how the attempt ended; never throws. A failure to store leaves the delivery
  // unacknowledged and the job running, so it is redelivered once its heartbeat is stale.
  void Record(const Delivery& d, const Job& job, Outcome outcome, const std::string& error,
              const nlohmann::json& result) {
    try {
      bool release = false;
      switch (outcome) {
        case Outcome::kSucceeded:
          if (store_.Succeed(job.id, result)) {
            metrics_.Count(job.type, JobState::kSucceeded);
            core::LogInfo("job succeeded", {{"job_id", job.id}, {"type", job.type}, {"attempt", job.attempt}});
          } else {
            core::LogInfo("job already completed by another attempt", {{"job_id", job.id}, {"attempt", job.attempt}});
          }
          break;
        case Outcome::kCancelled:
          if (store_.MarkCancelled(job.id, job.attempt)) metrics_.Count(job.type, JobState::kCancelled);
          break;
        case Outcome::kShutdown: release = store_.Release(job.id, job.attempt); break;
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
      broker_->Ack(d);
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
  bool stopping_ = false;                                              // guarded by mu_
  bool loops_stopped_ = false;                                         // guarded by mu_
  std::map<std::string, std::shared_ptr<CancellationToken>> running_;  // guarded by mu_
  std::vector<std::thread> workers_;
  std::thread heartbeat_;
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

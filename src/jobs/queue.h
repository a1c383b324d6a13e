// The job queue: records jobs in the database and delivers them to worker threads, in this
// process or in `playground worker` processes. Two backends behind one interface, chosen by
// configuration through MakeJobQueue(): embedded (in-process delivery, durable through the
// database) and Redis Streams (REDIS_URL set). The protocol, common to both, is in docs/jobs.md.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "jobs/job_store.h"
#include "jobs/task.h"
#include "store/store.h"

namespace playground::jobs {

struct QueueOptions {
  std::string redis_url;       // empty: the embedded backend
  int concurrency = 0;         // worker threads in this process; 0 runs no jobs here
  std::string role = "serve";  // names this process's worker id, e.g. "worker"
  std::chrono::milliseconds heartbeat_interval{2000};
  // A running job whose heartbeat is older than this is handed to another worker.
  std::chrono::milliseconds stale_after{30000};
  // How often queued jobs are (re)published, stale ones requeued, and queue_depth refreshed.
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds retry_base{1000};
  std::chrono::milliseconds retry_cap{std::chrono::hours(1)};
  int default_max_attempts = 3;
  // Most jobs a worker thread takes from the broker and claims at once when a backlog waits
  // (one otherwise; see docs/jobs.md). 1 turns batching off.
  int prefetch = 128;
  // A claimed job not started within this long goes back to the queue for other workers.
  std::chrono::milliseconds prefetch_lease{1000};
  // On Stop(), how long running jobs may finish before they are interrupted and released.
  std::chrono::milliseconds shutdown_grace{10000};
};

// Safe for concurrent use. Start() and Stop() are called once each, from one thread.
class JobQueue {
 public:
  virtual ~JobQueue() = default;
  // "embedded" or "redis".
  virtual std::string_view backend() const = 0;
  // This process's worker id (in jobs.worker_id of the jobs it runs).
  virtual const std::string& worker_id() const = 0;

  // Starts the worker threads (if any) and the maintenance loop.
  virtual void Start() = 0;
  // Stops taking jobs, lets running ones finish within the shutdown grace, then interrupts and
  // releases the rest (back to queued). Idempotent; also run by the destructor.
  virtual void Stop() = 0;

  // Records a job and hands it to the workers. A broker that cannot be reached does not fail the
  // call: the job is in the database and is published again by the maintenance loop. Throws
  // core::Error(kValidation) for an unknown type or invalid parameters.
  virtual Job Enqueue(NewJob job) = 0;
  // Hands an already recorded queued job to the workers (a schedule's job, created in the
  // schedule's transaction). Never throws.
  virtual void Publish(const std::string& job_id) = 0;
  // See JobStore::RequestCancel; a job running in this process is told at once.
  virtual Job Cancel(const std::string& id) = 0;
  // See JobStore::Retry.
  virtual Job Retry(const std::string& id) = 0;

  virtual JobStore& jobs() = 0;
  virtual const TaskRegistry& tasks() const = 0;
  virtual const QueueOptions& options() const = 0;
};

// The backend the options name. Throws core::Error(kValidation) for a malformed REDIS_URL. The
// registry, store and clock must outlive the queue.
std::unique_ptr<JobQueue> MakeJobQueue(const QueueOptions& options, store::Store& db, const TaskRegistry& tasks,
                                       const core::Clock& clock);

}  // namespace playground::jobs

// Job records in the database, the source of truth of the job protocol (docs/jobs.md): every
// state change is one conditional UPDATE, so that concurrent workers, a late worker whose job was
// handed to another, and a cancel racing a completion all resolve in the database and a result is
// recorded exactly once.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace playground::jobs {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

std::string_view StateName(JobState state);
std::optional<JobState> ParseState(std::string_view name);
inline bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

// A job as stored. Times are microseconds since the Unix epoch; 0 means "not yet".
struct Job {
  std::string id;
  std::string type;
  std::string owner_id;     // "" for the platform's own jobs
  std::string schedule_id;  // "" unless a schedule created it
  nlohmann::json params = nlohmann::json::object();
  JobState state = JobState::kQueued;
  double progress = 0;
  std::string progress_message;
  int attempt = 0;
  int max_attempts = 1;
  bool cancel_requested = false;
  int64_t created_at_us = 0;
  int64_t run_after_us = 0;
  int64_t started_at_us = 0;
  int64_t finished_at_us = 0;
  int64_t heartbeat_at_us = 0;
  int64_t updated_at_us = 0;
  std::string worker_id;  // the worker running it, or the last one that ran it
  std::string error;
  nlohmann::json result;  // null until it succeeds
};

nlohmann::json ToJson(const Job& job);

struct NewJob {
  std::string type;
  std::string owner_id;
  std::string schedule_id;
  nlohmann::json params = nlohmann::json::object();
  int max_attempts = 0;  // 0: the queue's default (JOB_MAX_ATTEMPTS)
};

struct JobFilter {
  std::string owner_id;  // "" for every owner
  std::optional<JobState> state;
  std::string type;    // "" for every type
  int limit = 50;      // 1..500
  std::string cursor;  // from JobPage::next_cursor; "" for the newest
};

struct JobPage {
  std::vector<Job> items;   // newest first
  std::string next_cursor;  // "" when there are no more
};

// The wait before attempt `attempt + 1` after attempt `attempt` failed: base * 2^(attempt-1),
// capped at `cap`, with jitter: a uniform draw `unit_random` in [0,1) picks a delay in
// [d/2, d), so that jobs failing together do not retry together.
std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                       double unit_random);

// Safe for concurrent use (each call uses its own pooled connection).
class JobStore {
 public:
  JobStore(store::Store& db, const core::Clock& clock) : db_(db), clock_(clock) {}

  Job Insert(const NewJob& job);
  // Inside a caller's transaction (a schedule firing creates its job atomically).
  static Job InsertTx(store::Tx& tx, const NewJob& job, int64_t now_us);

  std::optional<Job> Get(const std::string& id);
  // Throws core::Error(kValidation) for a malformed cursor.
  JobPage List(const JobFilter& filter);

  // queued (and due, and not cancelled) -> running for `worker_id`, counting an attempt. nullopt
  // when the job is not in that state (another worker has it, it was cancelled, it is not due).
  std::optional<Job> Claim(const std::string& id, const std::string& worker_id);
  // Claim for several jobs in one transaction: the jobs claimed, in no particular order (the
  // others are not claimable, as for Claim).
  std::vector<Job> ClaimMany(const std::vector<std::string>& ids, const std::string& worker_id);
  // Refreshes the heartbeat of every job `worker_id` runs; returns the ids among them whose
  // cancellation was requested.
  std::vector<std::string> Heartbeat(const std::string& worker_id);
  // Progress of the given attempt; false when that attempt no longer owns the job.
  bool SetProgress(const std::string& id, int attempt, double fraction, const std::string& message);

  // running -> succeeded with `result`, whichever attempt finishes first: at-least-once delivery
  // may run a job twice, but only the first completion is recorded. False if it was not running.
  bool Succeed(const std::string& id, const nlohmann::json& result);
  struct Success {
    std::string id;
    nlohmann::json result;
  };
  // Succeed for several jobs in one transaction; for each, whether its result was recorded.
  std::vector<bool> SucceedMany(const std::vector<Success>& successes);
  enum class FailOutcome { kRetrying, kFailed, kIgnored };
  // The given attempt failed: queued again after `delay` when transient and attempts remain,
  // else failed with `message`. kIgnored when that attempt no longer owns the job.
  FailOutcome Fail(const std::string& id, int attempt, const std::string& message, bool transient,
                   std::chrono::milliseconds delay);
  // The given attempt stopped on a cancellation request: -> cancelled.
  bool MarkCancelled(const std::string& id, int attempt);
  // The given attempt was interrupted by its worker shutting down, or was claimed and never
  // started: back to queued, the attempt not counted; or to cancelled when a cancellation was
  // requested meanwhile. The new state; nullopt when that attempt no longer owns the job.
  std::optional<JobState> Release(const std::string& id, int attempt);

  // queued -> cancelled at once; running -> cancel_requested (its worker stops it at its next
  // check). Throws kNotFound, or kConflict when it already finished.
  Job RequestCancel(const std::string& id);
  // failed or cancelled -> queued with a fresh set of max_attempts attempts on top of those
  // already made (`attempt` keeps counting). Throws kNotFound or kConflict.
  Job Retry(const std::string& id);

  // Running jobs whose heartbeat is older than `stale_before_us` go back to queued (their worker
  // died or hung); returns their ids.
  std::vector<std::string> RequeueStale(int64_t stale_before_us);
  // Ids of queued jobs that are due, oldest first.
  std::vector<std::string> DueQueued(int limit);
  int64_t CountQueued();

  const core::Clock& clock() const { return clock_; }
  int64_t NowUs() const { return store::ToMicros(clock_.Now()); }

 private:
  store::Store& db_;
  const core::Clock& clock_;
};

}  // namespace playground::jobs

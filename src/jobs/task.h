// What a job's code sees: its parameters, a progress reporter, a cancellation token and a place
// for its result (TaskContext), and the registry that maps a job type to that code. A task never
// knows which queue backend delivered it or which process runs it.
//
// Failure policy: a task reports failure by throwing. TransientError, and core::Error with
// kUnavailable or kTimeout, are transient (retried with backoff while attempts remain); any other
// exception is permanent and its message is stored as the job's error, so it should tell the user
// what went wrong. Cancelled (thrown by CancellationToken::ThrowIfCancelled) ends the job as
// cancelled, or hands it back to the queue when its worker is shutting down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace playground::jobs {

// A failure worth retrying later (a dependency was briefly unavailable). Thread-compatible.
class TransientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when a task stops because it was asked to. Thread-compatible.
class Cancelled : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Why a running job is asked to stop.
enum class StopReason { kNone, kCancelled, kShutdown };

// Set by the worker, read by the task. Safe for concurrent use.
class CancellationToken {
 public:
  bool cancelled() const { return reason_.load() != StopReason::kNone; }
  StopReason reason() const { return reason_.load(); }
  // Throws Cancelled when a stop was requested.
  void ThrowIfCancelled() const;
  // Waits up to `d`; returns early (true) as soon as a stop is requested.
  bool WaitFor(std::chrono::milliseconds d) const;
  // Requests a stop; the first reason given wins.
  void Request(StopReason reason);

 private:
  std::atomic<StopReason> reason_{StopReason::kNone};
  mutable std::mutex mu_;  // guards nothing but the wait on cv_
  mutable std::condition_variable cv_;
};

// Thread-compatible: used by the one worker thread that runs the task.
class TaskContext {
 public:
  virtual ~TaskContext() = default;
  virtual const std::string& job_id() const = 0;
  virtual const nlohmann::json& params() const = 0;
  // 1 for the first attempt.
  virtual int attempt() const = 0;
  // Reports progress: `fraction` in 0..1 (clamped) and a short message for people. Cheap to call
  // often: writes to the database are throttled.
  virtual void Progress(double fraction, const std::string& message = "") = 0;
  virtual const CancellationToken& cancellation() const = 0;
  // The job's result, recorded (once) when the task returns normally.
  virtual void SetResult(nlohmann::json result) = 0;
};

// Who may start a job type directly with POST /jobs (otherwise only the platform creates them).
enum class StartPolicy { kInternal, kAdmin, kMember };

struct TaskType {
  std::string name;
  std::string description;
  std::function<void(TaskContext&)> run;
  StartPolicy start = StartPolicy::kInternal;
  // Checks parameters when the job is created; throws core::Error(kValidation) saying what is
  // wrong. Optional.
  std::function<void(const nlohmann::json& params)> validate;
};

// Register() is for start-up only (not thread-safe); Find() and Names() are safe for concurrent
// use once registration is over.
class TaskRegistry {
 public:
  // Throws core::Error(kInternal) when the name is taken or the type has no code.
  void Register(TaskType type);
  const TaskType* Find(std::string_view name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, TaskType, std::less<>> types_;
};

// The machinery's own job types: `noop` (does nothing: benchmarks) and `sleep` (waits `ms`
// milliseconds in small steps, reporting progress and honouring cancellation; `fail_attempts`
// makes its first attempts fail transiently and `fail` makes it fail permanently, to exercise
// retries). Both may be started by admins.
void RegisterBuiltinTasks(TaskRegistry& registry);

}  // namespace playground::jobs

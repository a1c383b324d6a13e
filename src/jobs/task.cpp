#include "jobs/task.h"

#include <algorithm>
#include <thread>

#include "core/error.h"

namespace playground::jobs {

using core::ErrorCode;
using core::Fail;

void CancellationToken::ThrowIfCancelled() const {
  StopReason r = reason();
  if (r == StopReason::kCancelled) throw Cancelled("cancelled by request");
  if (r == StopReason::kShutdown) throw Cancelled("the worker is shutting down");
}

bool CancellationToken::WaitFor(std::chrono::milliseconds d) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [this] { return cancelled(); });
}

void CancellationToken::Request(StopReason reason) {
  {
    std::lock_guard lock(mu_);
    StopReason expected = StopReason::kNone;
    reason_.compare_exchange_strong(expected, reason);
  }
  cv_.notify_all();
}

void TaskRegistry::Register(TaskType type) {
  if (type.name.empty() || !type.run) Fail(ErrorCode::kInternal, "a job type needs a name and code");
  std::string name = type.name;
  if (!types_.emplace(name, std::move(type)).second) {
    Fail(ErrorCode::kInternal, "job type " + name + " is registered twice");
  }
}

const TaskType* TaskRegistry::Find(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> TaskRegistry::Names() const {
  std::vector<std::string> out;
  out.reserve(types_.size());
  for (const auto& [name, type] : types_) out.push_back(name);
  return out;
}

namespace {

int64_t IntParam(const nlohmann::json& params, const char* name, int64_t def, int64_t min, int64_t max) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) return def;
  if (!it->is_number_integer() || it->get<int64_t>() < min || it->get<int64_t>() > max) {
    Fail(ErrorCode::kValidation,
         std::string("params.") + name + ": an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return it->get<int64_t>();
}

void ValidateSleep(const nlohmann::json& params) {
  IntParam(params, "ms", 0, 0, 3'600'000);
  IntParam(params, "fail_attempts", 0, 0, 100);
  auto it = params.find("fail");
  if (it != params.end() && !it->is_null() && !it->is_string()) {
    Fail(ErrorCode::kValidation, "params.fail: a message (string)");
  }
}

void RunSleep(TaskContext& ctx) {
  const nlohmann::json& p = ctx.params();
  const int64_t total = IntParam(p, "ms", 0, 0, 3'600'000);
  const int64_t fail_attempts = IntParam(p, "fail_attempts", 0, 0, 100);
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    ctx.cancellation().ThrowIfCancelled();
    auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    if (elapsed >= total) break;
    ctx.Progress(static_cast<double>(elapsed) / static_cast<double>(total),
                 "slept " + std::to_string(elapsed) + " of " + std::to_string(total) + " ms");
    ctx.cancellation().WaitFor(std::chrono::milliseconds(std::min<int64_t>(50, total - elapsed)));
  }
  if (ctx.attempt() <= fail_attempts) {
    throw TransientError("failing attempt " + std::to_string(ctx.attempt()) +
                         " on purpose (fail_attempts=" + std::to_string(fail_attempts) + ")");
  }
  if (auto it = p.find("fail"); it != p.end() && it->is_string()) Fail(ErrorCode::kValidation, it->get<std::string>());
  ctx.Progress(1.0, "done");
  ctx.SetResult({{"slept_ms", total}, {"attempt", ctx.attempt()}});
}

}  // namespace

void RegisterBuiltinTasks(TaskRegistry& registry) {
  registry.Register(
      {"noop", "Does nothing; measures the queue itself.", [](TaskContext&) {}, StartPolicy::kAdmin, nullptr});
  registry.Register({"sleep",
                     "Waits params.ms milliseconds, reporting progress; params.fail_attempts fails that many "
                     "first attempts transiently, params.fail fails permanently with that message.",
                     RunSleep, StartPolicy::kAdmin, ValidateSleep});
}

}  // namespace playground::jobs

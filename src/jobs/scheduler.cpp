#include "jobs/scheduler.h"

#include "core/error.h"
#include "core/log.h"
#include "core/random.h"
#include "jobs/cron.h"

namespace playground::jobs {
namespace {

using core::ErrorCode;
using core::Fail;
using store::Row;

constexpr const char* kColumns =
    "id, owner_id, name, cron, timezone, job_type, params, max_attempts, paused, next_run_at, last_run_at, "
    "last_job_id, created_at";
constexpr const char* kLeaseName = "scheduler";

Schedule FromRow(const Row& r) {
  Schedule s;
  s.id = r.Text(0);
  s.owner_id = r.Text(1);
  s.name = r.Text(2);
  s.cron = r.Text(3);
  s.timezone = r.Text(4);
  s.job_type = r.Text(5);
  s.params = nlohmann::json::parse(r.Text(6), nullptr, false);
  if (!s.params.is_object()) s.params = nlohmann::json::object();
  s.max_attempts = static_cast<int>(r.Int(7));
  s.paused = r.Int(8) != 0;
  s.next_run_at_us = r.Int(9);
  s.last_run_at_us = r.OptInt(10).value_or(0);
  s.last_job_id = r.OptText(11).value_or("");
  s.created_at_us = r.Int(12);
  return s;
}

int64_t NextRunUs(const std::string& cron, const std::string& tz, std::chrono::system_clock::time_point after) {
  return store::ToMicros(CronSchedule::Parse(cron, tz).Next(after));
}

}  // namespace

nlohmann::json ToJson(const Schedule& s) {
  return {{"id", s.id},
          {"owner_id", s.owner_id},
          {"name", s.name},
          {"cron", s.cron},
          {"timezone", s.timezone},
          {"job", {{"type", s.job_type}, {"params", s.params}, {"max_attempts", s.max_attempts}}},
          {"paused", s.paused},
          {"next_run_at_us", s.next_run_at_us},
          {"last_run_at_us", s.last_run_at_us == 0 ? nlohmann::json(nullptr) : nlohmann::json(s.last_run_at_us)},
          {"last_job_id", s.last_job_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.last_job_id)},
          {"created_at_us", s.created_at_us}};
}

Scheduler::Scheduler(JobQueue& queue, store::Store& db, const core::Clock& clock, std::chrono::milliseconds lease_ttl)
    : queue_(queue),
      db_(db),
      clock_(clock),
      lease_ttl_(lease_ttl),
      holder_(queue.worker_id() + "/" + core::RandomHex(4)) {}

Scheduler::~Scheduler() { Stop(); }

Schedule Scheduler::Create(const NewSchedule& in) {
  if (in.name.empty() || in.name.size() > 200) Fail(ErrorCode::kValidation, "name: required, at most 200 characters");
  const TaskType* type = queue_.tasks().Find(in.job_type);
  if (type == nullptr) Fail(ErrorCode::kValidation, "job.type: no job type called '" + in.job_type + "'");
  nlohmann::json params = in.params.is_null() ? nlohmann::json::object() : in.params;
  if (!params.is_object()) Fail(ErrorCode::kValidation, "job.params: must be a JSON object");
  if (type->validate) type->validate(params);
  int64_t now = store::ToMicros(clock_.Now());
  int64_t next = NextRunUs(in.cron, in.timezone, clock_.Now());
  int max_attempts = in.max_attempts > 0 ? in.max_attempts : queue_.options().default_max_attempts;
  auto r = db_.Query(std::string("INSERT INTO schedules (id, owner_id, name, cron, timezone, job_type, params, "
                                 "max_attempts, paused, next_run_at, created_at, updated_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) RETURNING ") +
                         kColumns,
                     {core::NewUuid(), in.owner_id, in.name, in.cron, in.timezone, in.job_type, params.dump(),
                      int64_t{max_attempts}, next, now, now});
  return FromRow(r.rows.at(0));
}

std::optional<Schedule> Scheduler::Get(const std::string& id) {
  auto r = db_.Query(std::string("SELECT ") + kColumns + " FROM schedules WHERE id = ?", {id});
  if (r.rows.empty()) return std::nullopt;
  return FromRow(r.rows[0]);
}

std::vector<Schedule> Scheduler::List(const std::string& owner_id) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM schedules";
  store::Params params;
  if (!owner_id.empty()) {
    sql += " WHERE owner_id = ?";
    params.emplace_back(owner_id);
  }
  auto r = db_.Query(sql + " ORDER BY created_at DESC, id DESC", params);
  std::vector<Schedule> out;
  for (const Row& row : r.rows) out.push_back(FromRow(row));
  return out;
}

Schedule Scheduler::SetPaused(const std::string& id, bool paused) {
  auto s = Get(id);
  if (!s) Fail(ErrorCode::kNotFound, "no schedule " + id);
  int64_t now = store::ToMicros(clock_.Now());
  int64_t next = paused ? s->next_run_at_us : NextRunUs(s->cron, s->timezone, clock_.Now());
  auto r = db_.Query(std::string("UPDATE schedules SET paused = ?, next_run_at = ?, updated_at = ? WHERE id = ? "
                                 "RETURNING ") +
                         kColumns,
                     {int64_t{paused ? 1 : 0}, next, now, id});
  if (r.rows.empty()) Fail(ErrorCode::kNotFound, "no schedule " + id);
  return FromRow(r.rows[0]);
}

void Scheduler::Delete(const std::string& id) {
  if (db_.Exec("DELETE FROM schedules WHERE id = ?", {id}) == 0) Fail(ErrorCode::kNotFound, "no schedule " + id);
}

bool Scheduler::HoldLease(int64_t now_us) {
  int64_t expires = now_us + std::chrono::duration_cast<std::chrono::microseconds>(lease_ttl_).count();
  bool held = false;
  try {
    db_.Transaction([&](store::Tx& tx) {
      held = tx.Exec("UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)",
                     {holder_, expires, kLeaseName, holder_, now_us}) > 0;
      if (held) return;
      if (tx.Query("SELECT holder FROM leases WHERE name = ?", {kLeaseName}).rows.empty()) {
        tx.Exec("INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)", {kLeaseName, holder_, expires});
        held = true;
      }
    });
  } catch (const core::Error& e) {
    if (e.code() != ErrorCode::kConflict) throw;  // another process inserted the lease first
    held = false;
  }
  return held;
}

int Scheduler::Tick() {
  int fired = 0;
  try {
    auto now = clock_.Now();
    int64_t now_us = store::ToMicros(now);
    if (!HoldLease(now_us)) return 0;
    auto due = db_.Query(std::string("SELECT ") + kColumns +
                             " FROM schedules WHERE paused = 0 AND next_run_at <= ? ORDER BY next_run_at",
                         {now_us});
    for (const Row& row : due.rows) {
      Schedule s = FromRow(row);
      try {
        // The next run counts from now, so runs missed during downtime fire once, here.
        int64_t next = NextRunUs(s.cron, s.timezone, now);
        std::optional<Job> job;
        db_.Transaction([&](store::Tx& tx) {
          job.reset();
          int64_t moved = tx.Exec(
              "UPDATE schedules SET next_run_at = ?, last_run_at = ?, updated_at = ? "
              "WHERE id = ? AND next_run_at = ? AND paused = 0",
              {next, now_us, now_us, s.id, s.next_run_at_us});
          if (moved == 0) return;  // fired by another process, paused or deleted meanwhile
          NewJob nj{s.job_type, s.owner_id, s.id, s.params, s.max_attempts};
          job = JobStore::InsertTx(tx, nj, now_us);
          tx.Exec("UPDATE schedules SET last_job_id = ? WHERE id = ?", {job->id, s.id});
        });
        if (job) {
          queue_.Publish(job->id);
          ++fired;
          core::LogInfo("schedule fired", {{"schedule_id", s.id}, {"job_id", job->id}});
        }
      } catch (const std::exception& e) {
        core::LogError("cannot fire a schedule", {{"schedule_id", s.id}, {"error", e.what()}});
      }
    }
  } catch (const std::exception& e) {
    core::LogError("scheduler tick failed", {{"error", e.what()}});
  }
  return fired;
}

void Scheduler::Start(std::chrono::milliseconds interval) {
  thread_ = std::thread([this, interval] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      Tick();
      lock.lock();
      cv_.wait_for(lock, interval, [this] { return stop_; });
    }
  });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace playground::jobs

#include "jobs/job_store.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/random.h"

namespace playground::jobs {

using core::ErrorCode;

using store::Params;
using store::Row;

namespace {

constexpr const char* kColumns =
    "id, type, owner_id, schedule_id, params, state, progress, progress_message, attempt, max_attempts, "
    "cancel_requested, created_at, run_after, started_at, finished_at, heartbeat_at, updated_at, worker_id, error, "
    "result";

std::string Select(const std::string& where) { return std::string("SELECT ") + kColumns + " FROM jobs " + where; }
std::string Returning() { return std::string(" RETURNING ") + kColumns; }

nlohmann::json ParseJson(const std::optional<std::string>& text) {
  if (!text || text->empty()) return nullptr;
  return nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
}

Job FromRow(const Row& r) {
  Job j;
  j.id = r.Text(0);
  j.type = r.Text(1);
  j.owner_id = r.OptText(2).value_or("");
  j.schedule_id = r.OptText(3).value_or("");
  j.params = ParseJson(r.OptText(4));
  if (!j.params.is_object()) j.params = nlohmann::json::object();
  j.state = ParseState(r.Text(5)).value_or(JobState::kFailed);
  j.progress = r.Double(6);
  j.progress_message = r.Text(7);
  j.attempt = static_cast<int>(r.Int(8));
  j.max_attempts = static_cast<int>(r.Int(9));
  j.cancel_requested = r.Int(10) != 0;
  j.created_at_us = r.Int(11);
  j.run_after_us = r.Int(12);
  j.started_at_us = r.OptInt(13).value_or(0);
  j.finished_at_us = r.OptInt(14).value_or(0);
  j.heartbeat_at_us = r.OptInt(15).value_or(0);
  j.updated_at_us = r.Int(16);
  j.worker_id = r.OptText(17).value_or("");
  j.error = r.OptText(18).value_or("");
  j.result = ParseJson(r.OptText(19));
  return j;
}

std::optional<Job> First(const store::Result& r) {
  if (r.rows.empty()) return std::nullopt;
  return FromRow(r.rows[0]);
}

store::Value TextOrNull(const std::string& s) { return s.empty() ? store::Value(nullptr) : store::Value(s); }

}  // namespace

std::string_view StateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<JobState> ParseState(std::string_view name) {
  for (JobState s :
       {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed, JobState::kCancelled}) {
    if (StateName(s) == name) return s;
  }
  return std::nullopt;
}

nlohmann::json ToJson(const Job& j) {
  auto time = [](int64_t us) { return us == 0 ? nlohmann::json(nullptr) : nlohmann::json(us); };
  auto text = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"id", j.id},
          {"type", j.type},
          {"owner_id", text(j.owner_id)},
          {"schedule_id", text(j.schedule_id)},
          {"params", j.params},
          {"state", StateName(j.state)},
          {"progress", j.progress},
          {"progress_message", j.progress_message},
          {"attempt", j.attempt},
          {"max_attempts", j.max_attempts},
          {"cancel_requested", j.cancel_requested},
          {"created_at_us", j.created_at_us},
          {"run_after_us", j.run_after_us},
          {"started_at_us", time(j.started_at_us)},
          {"finished_at_us", time(j.finished_at_us)},
          {"heartbeat_at_us", time(j.heartbeat_at_us)},
          {"worker_id", text(j.worker_id)},
          {"error", text(j.error)},
          {"result", j.result}};
}

std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                       double unit_random) {
  double d = static_cast<double>(base.count()) * std::pow(2.0, std::max(0, attempt - 1));
  d = std::min(d, static_cast<double>(cap.count()));
  double jittered = d / 2 + (d / 2) * std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(jittered));
}

Job JobStore::InsertTx(store::Tx& tx, const NewJob& job, int64_t now_us) {
  auto r = tx.Query(
      "INSERT INTO jobs (id, type, owner_id, schedule_id, params, state, attempt, max_attempts, "
      "created_at, run_after, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)" +
          Returning(),
      {core::NewUuid(), job.type, TextOrNull(job.owner_id), TextOrNull(job.schedule_id), job.params.dump(),
       int64_t{job.max_attempts}, now_us, now_us, now_us});
  return FromRow(r.rows.at(0));
}

Job JobStore::Insert(const NewJob& job) {
  std::optional<Job> out;
  db_.Transaction([&](store::Tx& tx) { out = InsertTx(tx, job, NowUs()); });
  return *out;
}

std::optional<Job> JobStore::Get(const std::string& id) { return First(db_.Query(Select("WHERE id = ?"), {id})); }

JobPage JobStore::List(const JobFilter& f) {
  std::string where = "WHERE 1 = 1";
  Params params;
  if (!f.owner_id.empty()) {
    where += " AND owner_id = ?";
    params.emplace_back(f.owner_id);
  }
  if (f.state) {
    where += " AND state = ?";
    params.emplace_back(std::string(StateName(*f.state)));
  }
  if (!f.type.empty()) {
    where += " AND type = ?";
    params.emplace_back(f.type);
  }
  if (!f.cursor.empty()) {
    size_t sep = f.cursor.find('_');
    int64_t at = 0;
    try {
      if (sep == std::string::npos) throw std::invalid_argument("no separator");
      at = std::stoll(f.cursor.substr(0, sep));
    } catch (const std::exception&) {
      core::Fail(ErrorCode::kValidation, "cursor: not a cursor returned by this endpoint");
    }
    where += " AND (created_at < ? OR (created_at = ? AND id < ?))";
    params.emplace_back(at);
    params.emplace_back(at);
    params.emplace_back(f.cursor.substr(sep + 1));
  }
  int limit = std::clamp(f.limit, 1, 500);
  params.emplace_back(int64_t{limit + 1});
  auto r = db_.Query(Select(where + " ORDER BY created_at DESC, id DESC LIMIT ?"), params);
  JobPage page;
  for (const Row& row : r.rows) page.items.push_back(FromRow(row));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.resize(limit);
    const Job& last = page.items.back();
    page.next_cursor = std::to_string(last.created_at_us) + "_" + last.id;
  }
  return page;
}

std::optional<Job> JobStore::Claim(const std::string& id, const std::string& worker_id) {
  auto jobs = ClaimMany({id}, worker_id);
  if (jobs.empty()) return std::nullopt;
  return std::move(jobs[0]);
}

std::vector<Job> JobStore::ClaimMany(const std::vector<std::string>& ids, const std::string& worker_id) {
  if (ids.empty()) return {};
  int64_t now = NowUs();
  std::string placeholders;
  Params params{worker_id, now, now, now, now};
  for (const auto& id : ids) {
    placeholders += placeholders.empty() ? "?" : ", ?";
    params.emplace_back(id);
  }
  auto r = db_.Query(
      "UPDATE jobs SET state = 'running', attempt = attempt + 1, worker_id = ?, started_at = ?, "
      "heartbeat_at = ?, updated_at = ?, progress = 0, progress_message = '' "
      "WHERE run_after <= ? AND id IN (" +
          placeholders + ") AND state = 'queued' AND cancel_requested = 0" + Returning(),
      params);
  std::vector<Job> jobs;
  jobs.reserve(r.rows.size());
  for (const Row& row : r.rows) jobs.push_back(FromRow(row));
  return jobs;
}

std::vector<std::string> JobStore::Heartbeat(const std::string& worker_id) {
  auto r = db_.Query(
      "UPDATE jobs SET heartbeat_at = ? WHERE worker_id = ? AND state = 'running' RETURNING id, cancel_requested",
      {NowUs(), worker_id});
  std::vector<std::string> cancel;
  for (const Row& row : r.rows) {
    if (row.Int(1) != 0) cancel.push_back(row.Text(0));
  }
  return cancel;
}

bool JobStore::SetProgress(const std::string& id, int attempt, double fraction, const std::string& message) {
  int64_t now = NowUs();
  return db_.Exec(
             "UPDATE jobs SET progress = ?, progress_message = ?, heartbeat_at = ?, updated_at = ? "
             "WHERE id = ? AND state = 'running' AND attempt = ?",
             {std::clamp(fraction, 0.0, 1.0), message, now, now, id, int64_t{attempt}}) > 0;
}

bool JobStore::Succeed(const std::string& id, const nlohmann::json& result) {
  return SucceedMany({{id, result}}).at(0);
}

std::vector<bool> JobStore::SucceedMany(const std::vector<Success>& successes) {
  std::vector<bool> recorded;
  recorded.reserve(successes.size());
  db_.Transaction([&](store::Tx& tx) {
    recorded.clear();  // a retried transaction starts over
    int64_t now = NowUs();
    for (const auto& s : successes) {
      recorded.push_back(
          tx.Exec("UPDATE jobs SET state = 'succeeded', result = ?, progress = 1, finished_at = ?, updated_at = ?, "
                  "error = NULL WHERE id = ? AND state = 'running'",
                  {s.result.is_null() ? store::Value(nullptr) : store::Value(s.result.dump()), now, now, s.id}) > 0);
    }
  });
  return recorded;
}

JobStore::FailOutcome JobStore::Fail(const std::string& id, int attempt, const std::string& message, bool transient,
                                     std::chrono::milliseconds delay) {
  int64_t now = NowUs();
  if (transient) {
    int64_t n = db_.Exec(
        "UPDATE jobs SET state = 'queued', run_after = ?, error = ?, worker_id = NULL, updated_at = ? "
        "WHERE id = ? AND state = 'running' AND attempt = ? AND attempt < max_attempts AND cancel_requested = 0",
        {now + std::chrono::duration_cast<std::chrono::microseconds>(delay).count(), message, now, id,
         int64_t{attempt}});
    if (n > 0) return FailOutcome::kRetrying;
  }
  int64_t n = db_.Exec(
      "UPDATE jobs SET state = 'failed', error = ?, finished_at = ?, updated_at = ? "
      "WHERE id = ? AND state = 'running' AND attempt = ?",
      {message, now, now, id, int64_t{attempt}});
  return n > 0 ? FailOutcome::kFailed : FailOutcome::kIgnored;
}

bool JobStore::MarkCancelled(const std::string& id, int attempt) {
  int64_t now = NowUs();
  return db_.Exec(
             "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ? "
             "WHERE id = ? AND state = 'running' AND attempt = ?",
             {now, now, id, int64_t{attempt}}) > 0;
}

std::optional<JobState> JobStore::Release(const std::string& id, int attempt) {
  // A released job that was asked to stop would otherwise sit queued with cancel_requested set,
  // which no worker claims; it ends as cancelled instead.
  int64_t now = NowUs();
  auto r = db_.Query(
      "UPDATE jobs SET state = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END, "
      "finished_at = CASE WHEN cancel_requested = 1 THEN CAST(? AS BIGINT) ELSE NULL END, "
      "attempt = attempt - 1, worker_id = NULL, updated_at = ? "
      "WHERE id = ? AND state = 'running' AND attempt = ? RETURNING state",
      {now, now, id, int64_t{attempt}});
  if (r.rows.empty()) return std::nullopt;
  return ParseState(r.rows[0].Text(0));
}

Job JobStore::RequestCancel(const std::string& id) {
  int64_t now = NowUs();
  if (auto j = First(db_.Query("UPDATE jobs SET state = 'cancelled', cancel_requested = 1, finished_at = ?, "
                               "updated_at = ? WHERE id = ? AND state = 'queued'" +
                                   Returning(),
                               {now, now, id}))) {
    return *j;
  }
  if (auto j = First(db_.Query(
          "UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND state = 'running'" + Returning(),
          {now, id}))) {
    return *j;
  }
  auto j = Get(id);
  if (!j) core::Fail(ErrorCode::kNotFound, "no job " + id);
  core::Fail(ErrorCode::kConflict, "job " + id + " has already finished (" + std::string(StateName(j->state)) + ")");
}

Job JobStore::Retry(const std::string& id) {
  int64_t now = NowUs();
  // max_attempts stays a count of attempts in total, so it grows by the job's own allowance.
  if (auto j = First(db_.Query("UPDATE jobs SET state = 'queued', max_attempts = attempt + max_attempts, "
                               "cancel_requested = 0, run_after = ?, "
                               "error = NULL, result = NULL, progress = 0, progress_message = '', started_at = NULL, "
                               "finished_at = NULL, heartbeat_at = NULL, worker_id = NULL, updated_at = ? "
                               "WHERE id = ? AND state IN ('failed', 'cancelled')" +
                                   Returning(),
                               {now, now, id}))) {
    return *j;
  }
  auto j = Get(id);
  if (!j) core::Fail(ErrorCode::kNotFound, "no job " + id);
  core::Fail(ErrorCode::kConflict,
             "only a failed or cancelled job can be retried; job " + id + " is " + std::string(StateName(j->state)));
}

std::vector<std::string> JobStore::RequeueStale(int64_t stale_before_us) {
  // A job whose worker keeps dying (it may be what kills it) stops once its attempts are spent.
  int64_t now = NowUs();
  db_.Exec(
      "UPDATE jobs SET state = 'failed', finished_at = ?, updated_at = ?, "
      "error = 'its worker stopped responding during the last allowed attempt' "
      "WHERE state = 'running' AND heartbeat_at < ? AND attempt >= max_attempts",
      {now, now, stale_before_us});
  auto r = db_.Query(
      "UPDATE jobs SET state = 'queued', worker_id = NULL, updated_at = ? "
      "WHERE state = 'running' AND heartbeat_at < ? RETURNING id",
      {now, stale_before_us});
  std::vector<std::string> ids;
  for (const Row& row : r.rows) ids.push_back(row.Text(0));
  return ids;
}

std::vector<std::string> JobStore::DueQueued(int limit) {
  auto r =
      db_.Query("SELECT id FROM jobs WHERE state = 'queued' AND run_after <= ? ORDER BY run_after, created_at LIMIT ?",
                {NowUs(), int64_t{limit}});
  std::vector<std::string> ids;
  for (const Row& row : r.rows) ids.push_back(row.Text(0));
  return ids;
}

int64_t JobStore::CountQueued() {
  return db_.Query("SELECT COUNT(*) FROM jobs WHERE state = 'queued'").rows.at(0).Int(0);
}

}  // namespace playground::jobs

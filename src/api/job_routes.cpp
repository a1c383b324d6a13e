// Jobs and schedules: start, list, inspect, cancel and retry jobs, follow a job's progress as
// server-sent events, and manage recurring schedules. Owners see their own; admins see all.
#include "api/api.h"
#include "core/error.h"
#include "jobs/job_store.h"
#include "jobs/scheduler.h"

namespace playground::api {
namespace {

using core::ErrorCode;
using core::Fail;
using http::Access;
using nlohmann::json;

json JobSchema() {
  json time = {{"type", {"integer", "null"}}, {"description", "microseconds since the Unix epoch"}};
  json text = {{"type", {"string", "null"}}};
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"type", {{"type", "string"}}},
            {"owner_id", text},
            {"schedule_id", text},
            {"params", {{"type", "object"}}},
            {"state", {{"type", "string"}, {"enum", {"queued", "running", "succeeded", "failed", "cancelled"}}}},
            {"progress", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}},
            {"progress_message", {{"type", "string"}}},
            {"attempt", {{"type", "integer"}}},
            {"max_attempts", {{"type", "integer"}}},
            {"cancel_requested", {{"type", "boolean"}}},
            {"created_at_us", {{"type", "integer"}}},
            {"run_after_us", {{"type", "integer"}}},
            {"started_at_us", time},
            {"finished_at_us", time},
            {"heartbeat_at_us", time},
            {"worker_id", text},
            {"error", text},
            {"result", {{"description", "the task's result (any JSON), null until it succeeds"}}}}}};
}

json ScheduleSchema() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"owner_id", {{"type", "string"}}},
            {"name", {{"type", "string"}}},
            {"cron", {{"type", "string"}}},
            {"timezone", {{"type", "string"}}},
            {"job", {{"type", "object"}}},
            {"paused", {{"type", "boolean"}}},
            {"next_run_at_us", {{"type", "integer"}}},
            {"last_run_at_us", {{"type", {"integer", "null"}}}},
            {"last_job_id", {{"type", {"string", "null"}}}},
            {"created_at_us", {{"type", "integer"}}}}}};
}

json JobTemplateSchema() {
  return {{"type", "object"},
          {"required", {"type"}},
          {"properties",
           {{"type", {{"type", "string"}, {"description", "a job type that the caller may start"}}},
            {"params", {{"type", "object"}}},
            {"max_attempts", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}}}}};
}

const json& Member(const json& body, const char* name) {
  static const json kNull;
  auto it = body.find(name);
  return it == body.end() ? kNull : *it;
}

std::string RequiredString(const json& body, const char* name, const char* where = "") {
  const json& v = Member(body, name);
  if (!v.is_string() || v.get<std::string>().empty()) {
    Fail(ErrorCode::kValidation, std::string(where) + name + ": required, a non-empty string");
  }
  return v.get<std::string>();
}

// The job template of POST /jobs and of a schedule, checked against what the caller may start.
jobs::NewJob JobTemplate(const ApiContext& ctx, const http::Caller& caller, const json& body, const char* where) {
  if (!body.is_object()) Fail(ErrorCode::kValidation, std::string(where) + ": must be a JSON object");
  jobs::NewJob job;
  job.type = RequiredString(body, "type", where);
  job.owner_id = caller.user_id;
  const json& params = Member(body, "params");
  if (!params.is_null() && !params.is_object()) {
    Fail(ErrorCode::kValidation, std::string(where) + "params: must be a JSON object");
  }
  if (params.is_object()) job.params = params;
  const json& attempts = Member(body, "max_attempts");
  if (!attempts.is_null()) {
    if (!attempts.is_number_integer() || attempts.get<int64_t>() < 1 || attempts.get<int64_t>() > 100) {
      Fail(ErrorCode::kValidation, std::string(where) + "max_attempts: an integer from 1 to 100");
    }
    job.max_attempts = attempts.get<int>();
  }
  const jobs::TaskType* type = ctx.jobs.tasks().Find(job.type);
  if (type == nullptr) {
    std::string known;
    for (const auto& n : ctx.jobs.tasks().Names()) known += (known.empty() ? "" : ", ") + n;
    Fail(ErrorCode::kValidation,
         std::string(where) + "type: no job type called '" + job.type + "' (known: " + known + ")");
  }
  bool allowed =
      type->start == jobs::StartPolicy::kMember || (type->start == jobs::StartPolicy::kAdmin && caller.admin());
  if (!allowed) {
    Fail(ErrorCode::kPermissionDenied, type->start == jobs::StartPolicy::kAdmin
                                           ? "only admins may start '" + job.type + "' jobs"
                                           : "'" + job.type + "' jobs are started by the platform, not directly");
  }
  if (type->validate) type->validate(job.params);
  return job;
}

jobs::Job VisibleJob(ApiContext& ctx, const http::Request& req) {
  const std::string& id = req.Param("id");
  std::optional<jobs::Job> job = ctx.jobs.jobs().Get(id);
  if (!job) Fail(ErrorCode::kNotFound, "no job " + id);
  RequireOwnerOrAdmin(req.caller, job->owner_id, "job", id);
  return *job;
}

jobs::Schedule VisibleSchedule(ApiContext& ctx, const http::Request& req) {
  const std::string& id = req.Param("id");
  std::optional<jobs::Schedule> s = ctx.scheduler.Get(id);
  if (!s) Fail(ErrorCode::kNotFound, "no schedule " + id);
  RequireOwnerOrAdmin(req.caller, s->owner_id, "schedule", id);
  return *s;
}

int LimitParam(const http::Request& req) {
  auto v = req.Query("limit");
  if (!v) return 50;
  try {
    size_t used = 0;
    int n = std::stoi(*v, &used);
    if (used == v->size() && n >= 1 && n <= 500) return n;
  } catch (const std::exception&) {
  }
  Fail(ErrorCode::kValidation, "limit: an integer from 1 to 500");
}

void AddJobRoutes(http::Router& router, ApiContext& ctx) {
  const std::string p = ctx.settings.api_prefix;

  router
      .Post(p + "/jobs",
            [&ctx](http::Request& req) {
              jobs::NewJob job = JobTemplate(ctx, req.caller, req.JsonBody(), "");
              return http::Response::Json(201, jobs::ToJson(ctx.jobs.Enqueue(std::move(job))));
            })
      .Allow(Access::kMember)
      .Tag("jobs")
      .Summary("Start a job",
               "Only job types that may be started directly are accepted: admins may start `noop` and `sleep` "
               "(diagnostics and benchmarks); other types are started by the features that own them.")
      .Body(JobTemplateSchema())
      .Returns(201, "The queued job", JobSchema());

  router
      .Get(p + "/jobs",
           [&ctx](http::Request& req) {
             jobs::JobFilter f;
             f.owner_id = req.caller.admin() ? req.Query("owner_id").value_or("") : req.caller.user_id;
             if (auto s = req.Query("state")) {
               f.state = jobs::ParseState(*s);
               if (!f.state) {
                 Fail(ErrorCode::kValidation, "state: one of queued, running, succeeded, failed, cancelled");
               }
             }
             f.type = req.Query("type").value_or("");
             f.limit = LimitParam(req);
             f.cursor = req.Query("cursor").value_or("");
             jobs::JobPage page = ctx.jobs.jobs().List(f);
             json items = json::array();
             for (const auto& j : page.items) items.push_back(jobs::ToJson(j));
             return http::Response::Json(
                 200, {{"items", items},
                       {"next_cursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}});
           })
      .Allow(Access::kUser, {"read"})
      .Tag("jobs")
      .Summary("List jobs, newest first", "Members see their own jobs; admins see every job.")
      .Query("state", "string", "queued, running, succeeded, failed or cancelled")
      .Query("type", "string", "a job type")
      .Query("owner_id", "string", "admins only: the jobs of one user")
      .Query("limit", "integer", "page size, 1..500 (default 50)")
      .Query("cursor", "string", "next_cursor of the previous page")
      .Returns(200, "A page of jobs",
               {{"type", "object"},
                {"properties",
                 {{"items", {{"type", "array"}, {"items", JobSchema()}}},
                  {"next_cursor", {{"type", {"string", "null"}}}}}}});

  router
      .Get(p + "/jobs/{id}",
           [&ctx](http::Request& req) { return http::Response::Json(200, jobs::ToJson(VisibleJob(ctx, req))); })
      .Allow(Access::kUser, {"read"})
      .Tag("jobs")
      .Summary("A job: state, progress, attempts, timings, error and result")
      .Returns(200, "The job", JobSchema());

  router
      .Post(p + "/jobs/{id}/cancel",
            [&ctx](http::Request& req) {
              jobs::Job job = VisibleJob(ctx, req);
              return http::Response::Json(200, jobs::ToJson(ctx.jobs.Cancel(job.id)));
            })
      .Allow(Access::kMember)
      .Tag("jobs")
      .Summary("Cancel a job",
               "A queued job is cancelled at once; a running one stops at its next cancellation check "
               "(`cancel_requested` is true until then). 409 when it has already finished.")
      .Returns(200, "The job after the request", JobSchema());

  router
      .Post(p + "/jobs/{id}/retry",
            [&ctx](http::Request& req) {
              jobs::Job job = VisibleJob(ctx, req);
              return http::Response::Json(200, jobs::ToJson(ctx.jobs.Retry(job.id)));
            })
      .Allow(Access::kMember)
      .Tag("jobs")
      .Summary("Run a failed or cancelled job again", "It is queued with a fresh set of attempts; 409 otherwise.")
      .Returns(200, "The queued job", JobSchema());

  router
      .Get(p + "/jobs/{id}/events",
           [&ctx](http::Request& req) {
             jobs::Job job = VisibleJob(ctx, req);
             http::Response res;
             res.headers.Set("Content-Type", "text/event-stream");
             res.headers.Set("Cache-Control", "no-cache");
             res.stream = [&ctx, id = job.id](const std::shared_ptr<http::StreamWriter>& writer) {
               ctx.job_watcher.Watch(
                   id,
                   [writer](const jobs::Job& j) {
                     bool open = writer->Write("event: job\ndata: " + jobs::ToJson(j).dump() + "\n\n");
                     if (jobs::IsTerminal(j.state)) writer->Close();
                     return open;
                   },
                   [writer] { return writer->IsOpen(); });
             };
             return res;
           })
      .Allow(Access::kUser, {"read"})
      .Tag("jobs")
      .Summary("Follow a job as server-sent events",
               "An `event: job` with the whole job (as GET /jobs/{id}) now and whenever its state or progress "
               "changes; the stream ends after the job finishes.")
      .Returns(200, "Event stream", {{"type", "string"}}, "text/event-stream");
}

void AddScheduleRoutes(http::Router& router, ApiContext& ctx) {
  const std::string p = ctx.settings.api_prefix;

  router
      .Post(p + "/schedules",
            [&ctx](http::Request& req) {
              json body = req.JsonBody();
              if (!body.is_object()) Fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
              jobs::NewSchedule s;
              s.owner_id = req.caller.user_id;
              s.name = RequiredString(body, "name");
              s.cron = RequiredString(body, "cron");
              if (const json& tz = Member(body, "timezone"); !tz.is_null()) {
                if (!tz.is_string()) Fail(ErrorCode::kValidation, "timezone: a time zone name, e.g. Europe/Paris");
                s.timezone = tz.get<std::string>();
              }
              jobs::NewJob job = JobTemplate(ctx, req.caller, Member(body, "job"), "job.");
              s.job_type = job.type;
              s.params = job.params;
              s.max_attempts = job.max_attempts;
              return http::Response::Json(201, jobs::ToJson(ctx.scheduler.Create(s)));
            })
      .Allow(Access::kMember)
      .Tag("schedules")
      .Summary("Create a recurring schedule",
               "`cron` has 5 fields (minute hour day-of-month month day-of-week) evaluated in `timezone` (default "
               "UTC); each firing starts a job from the `job` template. A run missed while the platform was down "
               "fires once at start.")
      .Body({{"type", "object"},
             {"required", {"name", "cron", "job"}},
             {"properties",
              {{"name", {{"type", "string"}}},
               {"cron", {{"type", "string"}, {"examples", {"0 3 * * *"}}}},
               {"timezone", {{"type", "string"}, {"examples", {"Europe/Paris"}}}},
               {"job", JobTemplateSchema()}}}})
      .Returns(201, "The schedule", ScheduleSchema());

  router
      .Get(p + "/schedules",
           [&ctx](http::Request& req) {
             json items = json::array();
             for (const auto& s : ctx.scheduler.List(req.caller.admin() ? "" : req.caller.user_id)) {
               items.push_back(jobs::ToJson(s));
             }
             return http::Response::Json(200, {{"items", items}});
           })
      .Allow(Access::kUser, {"read"})
      .Tag("schedules")
      .Summary("List schedules", "Members see their own; admins see every schedule.")
      .Returns(200, "Schedules",
               {{"type", "object"}, {"properties", {{"items", {{"type", "array"}, {"items", ScheduleSchema()}}}}}});

  router
      .Get(p + "/schedules/{id}",
           [&ctx](http::Request& req) { return http::Response::Json(200, jobs::ToJson(VisibleSchedule(ctx, req))); })
      .Allow(Access::kUser, {"read"})
      .Tag("schedules")
      .Summary("A schedule")
      .Returns(200, "The schedule", ScheduleSchema());

  for (bool pause : {true, false}) {
    router
        .Post(p + "/schedules/{id}/" + (pause ? "pause" : "resume"),
              [&ctx, pause](http::Request& req) {
                jobs::Schedule s = VisibleSchedule(ctx, req);
                return http::Response::Json(200, jobs::ToJson(ctx.scheduler.SetPaused(s.id, pause)));
              })
        .Allow(Access::kMember)
        .Tag("schedules")
        .Summary(pause ? "Pause a schedule" : "Resume a paused schedule",
                 pause ? "It fires no more until resumed." : "Periods that passed while it was paused do not fire.")
        .Returns(200, "The schedule", ScheduleSchema());
  }

  router
      .Delete(p + "/schedules/{id}",
              [&ctx](http::Request& req) {
                jobs::Schedule s = VisibleSchedule(ctx, req);
                ctx.scheduler.Delete(s.id);
                return http::Response::Empty(204);
              })
      .Allow(Access::kMember)
      .Tag("schedules")
      .Summary("Delete a schedule", "Jobs it already started are kept.")
      .Returns(204, "Deleted");
}

}  // namespace

void AddJobsRoutes(http::Router& router, ApiContext& ctx) {
  AddJobRoutes(router, ctx);
  AddScheduleRoutes(router, ctx);
}

}  // namespace playground::api

// Jobs over HTTP with real processes: the same behavioural suite on the embedded backend (serve
// runs the jobs) and on Redis Streams (serve --workers 0 and a `playground worker`), each on
// SQLite and PostgreSQL; then the failures the protocol is for: a worker killed mid-job, Redis
// wiped, serve killed and restarted, a worker stopped with SIGTERM, two processes sharing one
// schedule. Heartbeat, stale and poll intervals are shortened by settings to keep this quick.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <sstream>
#include <thread>

#include "testkit/postgres_instance.h"
#include "testkit/process.h"
#include "testkit/redis_instance.h"

namespace playground::testkit {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
const std::string kPassword = "correct horse battery";

struct Config {
  bool redis = false;
  bool postgres = false;
};

void PrintTo(const Config& c, std::ostream* os) {
  *os << (c.redis ? "redis" : "embedded") << "/" << (c.postgres ? "postgresql" : "sqlite");
}

std::string ConfigName(const ::testing::TestParamInfo<Config>& info) {
  return std::string(info.param.redis ? "Redis" : "Embedded") + (info.param.postgres ? "Postgres" : "Sqlite");
}

Env BaseEnv(const std::string& database_url) {
  Env env{{"RATE_LIMIT_API", "100000"},   {"RATE_LIMIT_AUTH", "100000"}, {"ARGON2_MEMORY_KIB", "8192"},
          {"ARGON2_ITERATIONS", "1"},     {"JOB_HEARTBEAT_MS", "100"},   {"JOB_STALE_MS", "1500"},
          {"JOB_POLL_MS", "100"},         {"JOB_RETRY_BASE_MS", "20"},   {"WORKER_CONCURRENCY", "1"},
          {"SHUTDOWN_GRACE_SECONDS", "5"}};
  if (!database_url.empty()) env["DATABASE_URL"] = database_url;
  return env;
}

// Settings of serve --workers 0 and of its workers on Redis, sharing one database.
struct RedisEnv {
  Env worker, serve;
  RedisEnv(const std::string& database_url, const std::string& redis_url, const TempDir& dir)
      : worker(BaseEnv(database_url)) {
    worker["REDIS_URL"] = redis_url;
    worker["DATA_DIR"] = dir.path() + "/data";
    serve = worker;
    serve["WORKER_CONCURRENCY"] = "0";
  }
};

// A `playground worker` process, started and waited for.
class Worker {
 public:
  Worker(Env env, const TempDir& dir) {
    env.try_emplace("LOG_LEVEL", "info");
    env.try_emplace("WORKER_METRICS_PORT", "0");
    process_ = std::make_unique<Process>(std::vector<std::string>{PlaygroundBinary(), "worker"}, env, dir.path());
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::istringstream out(process_->Stdout());
      for (std::string line; std::getline(out, line);) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.value("msg", "") == "worker metrics listening") {
          metrics_port_ = j["port"].get<int>();
          return;
        }
      }
      if (!process_->Running()) break;
      std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error("worker did not start:\n" + process_->Stderr() + process_->Stdout());
  }
  Process& process() { return *process_; }
  int metrics_port() const { return metrics_port_; }
  int Count(const std::string& needle) const {
    std::string out = process_->Stdout();
    int n = 0;
    for (size_t at = out.find(needle); at != std::string::npos; at = out.find(needle, at + 1)) ++n;
    return n;
  }

 private:
  std::unique_ptr<Process> process_;
  int metrics_port_ = 0;
};

std::map<std::string, std::string> Auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::string SignUp(HttpClient& c, const std::string& email) {
  auto r = c.Post("/api/v1/auth/register", json{{"email", email}, {"password", kPassword}}.dump());
  EXPECT_EQ(r.status, 201) << r.body;
  auto login = c.Post("/api/v1/auth/login", json{{"email", email}, {"password", kPassword}}.dump());
  EXPECT_EQ(login.status, 200) << login.body;
  return login.Json()["access_token"];
}

json Start(HttpClient& c, const std::string& token, const json& body) {
  auto r = c.Post("/api/v1/jobs", body.dump(), "application/json", Auth(token));
  EXPECT_EQ(r.status, 201) << r.body;
  return r.status == 201 ? r.Json() : json::object();
}

json GetJob(HttpClient& c, const std::string& token, const std::string& id) {
  auto r = c.Get("/api/v1/jobs/" + id, Auth(token));
  EXPECT_EQ(r.status, 200) << r.body;
  return r.Json();
}

// Polls until the job is in `state` (or the timeout); returns the job as last seen.
json WaitFor(HttpClient& c, const std::string& token, const std::string& id, const std::string& state,
             std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  json job;
  while (std::chrono::steady_clock::now() < deadline) {
    job = GetJob(c, token, id);
    if (job["state"] == state) return job;
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "job " << id << " did not become " << state << ": " << job.dump();
  return job;
}

// The processes of one configuration: serve, plus a worker when the backend is Redis.
class JobsSuite : public ::testing::TestWithParam<Config> {
 protected:
  void SetUp() override {
    Env env = BaseEnv(GetParam().postgres ? SharedPostgres().NewDatabase() : "");
    if (GetParam().redis) {
      SharedRedis().FlushAll();
      env["REDIS_URL"] = SharedRedis().Url();
      Env serve_env = env;
      serve_env["WORKER_CONCURRENCY"] = "0";
      server_ = std::make_unique<TestServer>(serve_env);
      // The worker shares serve's database (SQLite: the same file).
      if (!GetParam().postgres) env["DATABASE_URL"] = "sqlite://" + server_->data_dir() + "/playground.db";
      env["DATA_DIR"] = server_->data_dir();
      worker_ = std::make_unique<Worker>(env, dir_);
    } else {
      server_ = std::make_unique<TestServer>(env);
    }
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
    admin_ = SignUp(*client_, "admin@example.com");
  }

  HttpClient& c() { return *client_; }

  TempDir dir_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
};

TEST_P(JobsSuite, RunsAJobWithLiveProgressAndKeepsItsResult) {
  json job = Start(c(), admin_, {{"type", "sleep"}, {"params", {{"ms", 500}}}});
  EXPECT_EQ(job["state"], "queued");
  EXPECT_EQ(job["max_attempts"], 3);  // JOB_MAX_ATTEMPTS' default

  // Server-sent events from queued (or running) to succeeded, then the stream ends.
  HttpClient events("127.0.0.1", server_->port());
  events.Send("GET /api/v1/jobs/" + job["id"].get<std::string>() +
              "/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ + "\r\n\r\n");
  std::string stream = events.ReadUntil("\"state\":\"succeeded\"", 20s);
  EXPECT_NE(stream.find("text/event-stream"), std::string::npos);
  EXPECT_NE(stream.find("event: job\ndata: {"), std::string::npos);
  EXPECT_NE(stream.find("\"state\":\"running\""), std::string::npos) << stream;
  EXPECT_NE(stream.find("\"state\":\"succeeded\""), std::string::npos) << stream;
  if (stream.find("\r\n0\r\n\r\n") == std::string::npos) stream += events.ReadUntil("\r\n0\r\n\r\n", 5s);
  EXPECT_NE(stream.find("\r\n0\r\n\r\n"), std::string::npos) << "the stream did not end: " << stream;

  json done = GetJob(c(), admin_, job["id"]);
  EXPECT_EQ(done["state"], "succeeded");
  EXPECT_EQ(done["progress"], 1.0);
  EXPECT_EQ(done["result"], json({{"slept_ms", 500}, {"attempt", 1}}));
  EXPECT_EQ(done["attempt"], 1);
  EXPECT_GE(done["finished_at_us"].get<int64_t>() - done["started_at_us"].get<int64_t>(), 500'000);

  // Listing: newest first, filtered, paged.
  json noop = Start(c(), admin_, {{"type", "noop"}});
  WaitFor(c(), admin_, noop["id"], "succeeded");
  auto page = c().Get("/api/v1/jobs?limit=1", Auth(admin_)).Json();
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["id"], noop["id"]);
  ASSERT_TRUE(page["next_cursor"].is_string());
  auto next = c().Get("/api/v1/jobs?limit=1&cursor=" + page["next_cursor"].get<std::string>(), Auth(admin_)).Json();
  EXPECT_EQ(next["items"][0]["id"], job["id"]);
  auto sleeps = c().Get("/api/v1/jobs?type=sleep&state=succeeded", Auth(admin_)).Json();
  ASSERT_EQ(sleeps["items"].size(), 1u);
  EXPECT_EQ(c().Get("/api/v1/jobs?state=running", Auth(admin_)).Json()["items"].size(), 0u);
  // Metrics of the process that ran the jobs (serve, or the worker); queue_depth is refreshed
  // every JOB_POLL_MS.
  HttpClient runner("127.0.0.1", worker_ ? worker_->metrics_port() : server_->port());
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = runner.Get("/metrics").body;
    if (metrics.find("\nqueue_depth 0\n") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(metrics.find("\nqueue_depth 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("job_duration_seconds_count{type=\"sleep\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("jobs_total{state=\"succeeded\",type=\"noop\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nworkers_busy 0"), std::string::npos) << metrics;
  if (worker_) {
    EXPECT_EQ(runner.Get("/health").Json()["status"], "healthy");
  }
}

TEST_P(JobsSuite, CancelsAQueuedJobAtOnceAndARunningOneAtItsNextCheck) {
  json running = Start(c(), admin_, {{"type", "sleep"}, {"params", {{"ms", 60000}}}});
  WaitFor(c(), admin_, running["id"], "running");
  // The only worker thread is busy, so this one waits in the queue.
  json queued = Start(c(), admin_, {{"type", "sleep"}, {"params", {{"ms", 60000}}}});
  auto r =
      c().Post("/api/v1/jobs/" + queued["id"].get<std::string>() + "/cancel", "", "application/json", Auth(admin_));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "cancelled");

  r = c().Post("/api/v1/jobs/" + running["id"].get<std::string>() + "/cancel", "", "application/json", Auth(admin_));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.Json()["cancel_requested"].get<bool>());
  json cancelled = WaitFor(c(), admin_, running["id"], "cancelled", 5s);
  EXPECT_LT(cancelled["progress"].get<double>(), 0.5);

  r = c().Post("/api/v1/jobs/" + running["id"].get<std::string>() + "/cancel", "", "application/json", Auth(admin_));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.Header("Content-Type"), "application/problem+json");
  // The worker is free again, and a cancelled job can be run again.
  r = c().Post("/api/v1/jobs/" + queued["id"].get<std::string>() + "/retry", "", "application/json", Auth(admin_));
  ASSERT_EQ(r.status, 200) << r.body;
  WaitFor(c(), admin_, queued["id"], "running");
}

TEST_P(JobsSuite, RetriesTransientFailuresAndStoresPermanentOnes) {
  json flaky = Start(c(), admin_, {{"type", "sleep"}, {"params", {{"fail_attempts", 2}}}, {"max_attempts", 3}});
  json ok = WaitFor(c(), admin_, flaky["id"], "succeeded");
  EXPECT_EQ(ok["attempt"], 3);
  EXPECT_EQ(ok["result"]["attempt"], 3);

  json broken = Start(c(), admin_, {{"type", "sleep"}, {"params", {{"fail", "the file is not a CSV"}}}});
  json failed = WaitFor(c(), admin_, broken["id"], "failed");
  EXPECT_EQ(failed["attempt"], 1);  // permanent: not retried
  EXPECT_EQ(failed["error"], "the file is not a CSV");

  json once = Start(c(), admin_, {{"type", "sleep"}, {"params", {{"fail_attempts", 1}}}, {"max_attempts", 1}});
  failed = WaitFor(c(), admin_, once["id"], "failed");
  EXPECT_NE(failed["error"].get<std::string>().find("on purpose"), std::string::npos);
  auto r = c().Post("/api/v1/jobs/" + once["id"].get<std::string>() + "/retry", "", "application/json", Auth(admin_));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "queued");
  json retried = WaitFor(c(), admin_, once["id"], "succeeded");
  EXPECT_EQ(retried["attempt"], 2);
  r = c().Post("/api/v1/jobs/" + once["id"].get<std::string>() + "/retry", "", "application/json", Auth(admin_));
  EXPECT_EQ(r.status, 409);
}

TEST_P(JobsSuite, OwnersSeeTheirJobsAndBadRequestsAreProblems) {
  std::string member = SignUp(c(), "member@example.com");
  json job = Start(c(), admin_, {{"type", "noop"}});
  auto r = c().Post("/api/v1/jobs", json{{"type", "noop"}}.dump(), "application/json", Auth(member));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.Json()["detail"].get<std::string>().find("only admins"), std::string::npos);
  r = c().Post("/api/v1/jobs", json{{"type", "train-the-world"}}.dump(), "application/json", Auth(admin_));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.Header("Content-Type"), "application/problem+json");
  std::string detail = r.Json()["detail"];
  EXPECT_NE(detail.find("known: "), std::string::npos) << detail;
  EXPECT_NE(detail.find("noop"), std::string::npos) << detail;
  EXPECT_NE(detail.find("sleep"), std::string::npos) << detail;
  r = c().Post("/api/v1/jobs", json{{"type", "sleep"}, {"params", {{"ms", "long"}}}}.dump(), "application/json",
               Auth(admin_));
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.Json()["detail"].get<std::string>().find("params.ms"), std::string::npos);
  EXPECT_EQ(c().Post("/api/v1/jobs", "{", "application/json", Auth(admin_)).status, 400);
  EXPECT_EQ(c().Get("/api/v1/jobs?state=done", Auth(admin_)).status, 422);
  EXPECT_EQ(c().Get("/api/v1/jobs?limit=0", Auth(admin_)).status, 422);

  EXPECT_EQ(c().Get("/api/v1/jobs/" + job["id"].get<std::string>(), Auth(member)).status, 404);
  EXPECT_EQ(c().Get("/api/v1/jobs", Auth(member)).Json()["items"].size(), 0u);
  EXPECT_EQ(c().Get("/api/v1/jobs", Auth(admin_)).Json()["items"].size(), 1u);
  EXPECT_EQ(c().Get("/api/v1/jobs/not-a-job", Auth(admin_)).status, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, JobsSuite,
                         ::testing::Values(Config{false, false}, Config{false, true}, Config{true, false},
                                           Config{true, true}),
                         ConfigName);

class JobsFailureTest : public ::testing::TestWithParam<bool> {  // true: PostgreSQL
 protected:
  std::string DatabaseUrl(const TempDir& dir) {
    return GetParam() ? SharedPostgres().NewDatabase() : "sqlite://" + dir.path() + "/jobs.db";
  }
};

std::string DbName(const ::testing::TestParamInfo<bool>& info) { return info.param ? "Postgres" : "Sqlite"; }

TEST_P(JobsFailureTest, AWorkerKilledMidJobIsReplacedAndTheResultRecordedOnce) {
  TempDir dir;
  SharedRedis().FlushAll();
  RedisEnv env(DatabaseUrl(dir), SharedRedis().Url(), dir);
  TestServer server(env.serve);
  auto c = server.Client();
  std::string admin = SignUp(c, "admin@example.com");
  Worker a(env.worker, dir);
  Worker b(env.worker, dir);

  json job = Start(c, admin, {{"type", "sleep"}, {"params", {{"ms", 1500}}}});
  json running = WaitFor(c, admin, job["id"], "running");
  std::string first_worker = running["worker_id"];
  bool a_has_it = first_worker.find(":" + std::to_string(a.process().pid()) + ":") != std::string::npos;
  Worker& victim = a_has_it ? a : b;
  Worker& survivor = a_has_it ? b : a;
  victim.process().Signal(SIGKILL);

  json done = WaitFor(c, admin, job["id"], "succeeded", 30s);
  EXPECT_EQ(done["attempt"], 2);
  EXPECT_EQ(done["result"]["attempt"], 2);
  EXPECT_NE(done["worker_id"].get<std::string>().find(":" + std::to_string(survivor.process().pid()) + ":"),
            std::string::npos);
  std::this_thread::sleep_for(1200ms);  // the survivor's log is flushed every second
  EXPECT_EQ(survivor.Count("\"msg\":\"job succeeded\""), 1) << survivor.process().Stdout();
  EXPECT_EQ(victim.Count("\"msg\":\"job succeeded\""), 0);
  // Work still flows through the survivor.
  json after = Start(c, admin, {{"type", "noop"}});
  WaitFor(c, admin, after["id"], "succeeded");
}

TEST_P(JobsFailureTest, RedisWipedAndRestartedWhileJobsAreQueuedLosesNone) {
  TempDir dir;
  RedisInstance redis;
  RedisEnv env(DatabaseUrl(dir), redis.Url(), dir);
  TestServer server(env.serve);
  auto c = server.Client();
  std::string admin = SignUp(c, "admin@example.com");

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Start(c, admin, {{"type", "noop"}})["id"]);  // in the stream
  redis.Stop();  // no persistence: its data is gone
  for (int i = 0; i < 2; ++i) ids.push_back(Start(c, admin, {{"type", "noop"}})["id"]);  // Redis down
  redis.Start();
  Worker worker(env.worker, dir);
  for (const auto& id : ids) EXPECT_EQ(WaitFor(c, admin, id, "succeeded")["attempt"], 1);
}

TEST_P(JobsFailureTest, ServeKilledAndRestartedWithJobsQueuedAndRunningLosesNone) {
  TempDir dir;
  Env env = BaseEnv(DatabaseUrl(dir));
  env["DATA_DIR"] = dir.path() + "/data";
  std::vector<std::string> ids;
  std::string admin;
  {
    TestServer server(env);
    auto c = server.Client();
    admin = SignUp(c, "admin@example.com");
    ids.push_back(Start(c, admin, {{"type", "sleep"}, {"params", {{"ms", 1000}}}})["id"]);
    WaitFor(c, admin, ids[0], "running");
    for (int i = 0; i < 3; ++i) ids.push_back(Start(c, admin, {{"type", "noop"}})["id"]);
    server.process().Signal(SIGKILL);
    server.process().Wait(10s);
  }
  TestServer restarted(env);
  auto c = restarted.Client();
  json first = WaitFor(c, admin, ids[0], "succeeded", 30s);
  EXPECT_EQ(first["attempt"], 2);  // its first attempt died with the process
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(WaitFor(c, admin, ids[i], "succeeded")["attempt"], 1);
}

TEST_P(JobsFailureTest, ABacklogIsClaimedInBatchesAndEachResultRecordedOnce) {
  TempDir dir;
  SharedRedis().FlushAll();
  RedisEnv env(DatabaseUrl(dir), SharedRedis().Url(), dir);
  env.worker["WORKER_CONCURRENCY"] = "2";
  TestServer server(env.serve);
  auto c = server.Client();
  std::string admin = SignUp(c, "admin@example.com");
  constexpr size_t kJobs = 300;
  for (size_t i = 0; i < kJobs; ++i) Start(c, admin, {{"type", "noop"}});
  Worker worker(env.worker, dir);

  json done;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    done = c.Get("/api/v1/jobs?state=succeeded&limit=500", Auth(admin)).Json();
    if (done["items"].size() == kJobs) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(done["items"].size(), kJobs);
  // Jobs claimed in one transaction share its start time; one at a time, none would.
  std::map<int64_t, int> claimed_together;
  for (const auto& job : done["items"]) {
    EXPECT_EQ(job["attempt"], 1);
    ++claimed_together[job["started_at_us"].get<int64_t>()];
  }
  int largest = 0;
  for (const auto& [at, n] : claimed_together) largest = std::max(largest, n);
  EXPECT_GE(largest, 8);
  std::this_thread::sleep_for(1200ms);  // the worker's log is flushed every second
  EXPECT_EQ(worker.Count("\"msg\":\"job succeeded\""), static_cast<int>(kJobs));
}

INSTANTIATE_TEST_SUITE_P(Databases, JobsFailureTest, ::testing::Values(false, true), DbName);

// A worker of concurrency 1 with a backlog claims a second job while it runs the first (the
// fetch grows from 1 to 2 after the first full read): a no-op, then `first`, then `second`.
class JobsPrefetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SharedRedis().FlushAll();
    env_ = std::make_unique<RedisEnv>("sqlite://" + dir_.path() + "/jobs.db", SharedRedis().Url(), dir_);
    server_ = std::make_unique<TestServer>(env_->serve);
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
    admin_ = SignUp(c(), "admin@example.com");
  }
  HttpClient& c() { return *client_; }
  std::string WorkerTag(Worker& w) { return ":" + std::to_string(w.process().pid()) + ":"; }

  // Enqueues the backlog, starts worker `a` and waits until it holds both sleeps at once.
  void ClaimTwoWith(const std::string& lease_ms, int first_ms, int second_ms) {
    Start(c(), admin_, {{"type", "noop"}});
    first_ = Start(c(), admin_, {{"type", "sleep"}, {"params", {{"ms", first_ms}}}})["id"];
    second_ = Start(c(), admin_, {{"type", "sleep"}, {"params", {{"ms", second_ms}}}})["id"];
    Env env = env_->worker;
    env["JOB_PREFETCH_LEASE_MS"] = lease_ms;
    a_ = std::make_unique<Worker>(env, dir_);
    json held = WaitFor(c(), admin_, second_, "running");
    EXPECT_NE(held["worker_id"].get<std::string>().find(WorkerTag(*a_)), std::string::npos);
    EXPECT_EQ(GetJob(c(), admin_, first_)["state"], "running");  // one thread, two running jobs
  }

  TempDir dir_;
  std::unique_ptr<RedisEnv> env_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_, first_, second_;
  std::unique_ptr<Worker> a_;
};

TEST_F(JobsPrefetchTest, AClaimedJobNotStartedYetIsCancelledWhenItsTurnComes) {
  ClaimTwoWith("60000", 1500, 100);
  auto r = c().Post("/api/v1/jobs/" + second_ + "/cancel", "", "application/json", Auth(admin_));
  EXPECT_EQ(r.status, 200) << r.body;
  json cancelled = WaitFor(c(), admin_, second_, "cancelled", 10s);
  EXPECT_TRUE(cancelled["result"].is_null());
  EXPECT_EQ(WaitFor(c(), admin_, first_, "succeeded")["attempt"], 1);
  std::this_thread::sleep_for(1200ms);  // the worker's log is flushed every second
  EXPECT_EQ(a_->Count("\"msg\":\"job succeeded\""), 2) << a_->process().Stdout();  // the no-op and first
  // Only `first` of the two sleeps ran: the cancelled one is counted as cancelled, not as running.
  std::string metrics = HttpClient("127.0.0.1", a_->metrics_port()).Get("/metrics").body;
  EXPECT_NE(metrics.find("jobs_total{state=\"running\",type=\"sleep\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("jobs_total{state=\"cancelled\",type=\"sleep\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("job_duration_seconds_count{type=\"sleep\"} 1\n"), std::string::npos) << metrics;
}

TEST_F(JobsPrefetchTest, AClaimedJobGoesToAnIdleWorkerWhenItsLeaseEnds) {
  ClaimTwoWith("300", 2500, 100);
  Worker b(env_->worker, dir_);
  json second = WaitFor(c(), admin_, second_, "succeeded", 10s);
  EXPECT_NE(second["worker_id"].get<std::string>().find(WorkerTag(b)), std::string::npos);
  EXPECT_EQ(second["attempt"], 1);                             // a release spends no attempt
  EXPECT_EQ(GetJob(c(), admin_, first_)["state"], "running");  // done before a could have started it
  EXPECT_EQ(WaitFor(c(), admin_, first_, "succeeded")["attempt"], 1);
}

TEST(JobsShutdownTest, SigtermHandsARunningJobBackWithoutSpendingAnAttempt) {
  TempDir dir;
  SharedRedis().FlushAll();
  RedisEnv env("sqlite://" + dir.path() + "/jobs.db", SharedRedis().Url(), dir);
  env.worker["SHUTDOWN_GRACE_SECONDS"] = "0";
  TestServer server(env.serve);
  auto c = server.Client();
  std::string admin = SignUp(c, "admin@example.com");
  auto first = std::make_unique<Worker>(env.worker, dir);
  json job = Start(c, admin, {{"type", "sleep"}, {"params", {{"ms", 3000}}}, {"max_attempts", 1}});
  WaitFor(c, admin, job["id"], "running");
  first->process().Signal(SIGTERM);
  EXPECT_EQ(first->process().Wait(5s), 0);
  EXPECT_EQ(GetJob(c, admin, job["id"])["state"], "queued");
  Worker second(env.worker, dir);
  json done = WaitFor(c, admin, job["id"], "succeeded", 20s);
  EXPECT_EQ(done["attempt"], 1);  // a release is not a failure: its only attempt is still there
}

// Real processes at a real minute boundary: up to a minute of waiting, so PostgreSQL only.
TEST(SchedulesTest, TwoServeProcessesFireOnceAPeriodAndTheApiManagesSchedules) {
  Env env = BaseEnv(SharedPostgres().NewDatabase());
  TestServer one(env);
  auto c = one.Client();
  std::string admin = SignUp(c, "admin@example.com");
  std::string member = SignUp(c, "member@example.com");
  TestServer two(env);

  auto bad =
      c.Post("/api/v1/schedules", json{{"name", "x"}, {"cron", "61 * * * *"}, {"job", {{"type", "noop"}}}}.dump(),
             "application/json", Auth(admin));
  EXPECT_EQ(bad.status, 422);
  EXPECT_NE(bad.Json()["detail"].get<std::string>().find("minute"), std::string::npos);
  bad =
      c.Post("/api/v1/schedules",
             json{{"name", "x"}, {"cron", "* * * * *"}, {"timezone", "Moon/Base"}, {"job", {{"type", "noop"}}}}.dump(),
             "application/json", Auth(admin));
  EXPECT_EQ(bad.status, 422);
  bad = c.Post("/api/v1/schedules", json{{"name", "x"}, {"cron", "* * * * *"}, {"job", {{"type", "noop"}}}}.dump(),
               "application/json", Auth(member));
  EXPECT_EQ(bad.status, 403);

  auto made = c.Post(
      "/api/v1/schedules",
      json{{"name", "every minute"}, {"cron", "* * * * *"}, {"timezone", "Europe/Paris"}, {"job", {{"type", "noop"}}}}
          .dump(),
      "application/json", Auth(admin));
  ASSERT_EQ(made.status, 201) << made.body;
  std::string id = made.Json()["id"];
  EXPECT_EQ(c.Get("/api/v1/schedules", Auth(admin)).Json()["items"].size(), 1u);
  EXPECT_EQ(c.Get("/api/v1/schedules", Auth(member)).Json()["items"].size(), 0u);
  EXPECT_EQ(c.Get("/api/v1/schedules/" + id, Auth(member)).status, 404);

  // Wait for the next minute boundary, then a little longer: one job, from one of the two.
  int64_t next_us = made.Json()["next_run_at_us"];
  json jobs;
  auto deadline = std::chrono::steady_clock::now() + 75s;
  while (std::chrono::steady_clock::now() < deadline) {
    jobs = c.Get("/api/v1/jobs", Auth(admin)).Json()["items"];
    if (!jobs.empty()) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(jobs.size(), 1u);
  std::this_thread::sleep_for(1500ms);  // both processes have ticked many times since (JOB_POLL_MS=100)
  jobs = c.Get("/api/v1/jobs", Auth(admin)).Json()["items"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["schedule_id"], id);
  EXPECT_GE(jobs[0]["created_at_us"].get<int64_t>(), next_us);
  json s = c.Get("/api/v1/schedules/" + id, Auth(admin)).Json();
  EXPECT_EQ(s["last_job_id"], jobs[0]["id"]);
  EXPECT_EQ(s["next_run_at_us"].get<int64_t>(), next_us + 60'000'000);

  auto paused = c.Post("/api/v1/schedules/" + id + "/pause", "", "application/json", Auth(admin));
  ASSERT_EQ(paused.status, 200);
  EXPECT_TRUE(paused.Json()["paused"].get<bool>());
  EXPECT_EQ(c.Request("DELETE", "/api/v1/schedules/" + id, "", Auth(admin)).status, 204);
  EXPECT_EQ(c.Request("DELETE", "/api/v1/schedules/" + id, "", Auth(admin)).status, 404);
}

}  // namespace
}  // namespace playground::testkit

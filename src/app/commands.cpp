#include "app/commands.h"

#include <pthread.h>
#include <sys/stat.h>

#include <csignal>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/api.h"
#include "api/health.h"
#include "app/app.h"
#include "auth/accounts.h"
#include "auth/audit.h"
#include "auth/shares.h"
#include "cache/cache.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/random.h"
#include "core/version.h"
#include "datasets/catalog.h"
#include "http/server.h"
#include "http/static_site.h"
#include "jobs/queue.h"
#include "jobs/scheduler.h"
#include "jobs/task.h"
#include "jobs/watcher.h"
#include "limits/rate_limiter.h"
#include "models/registry.h"
#include "models/tasks.h"
#include "redis/redis_client.h"
#include "store/migrate.h"
#include "store/store.h"

namespace playground::app {
namespace {

namespace fs = std::filesystem;

// Creates DATA_DIR if needed; false (with a message) when it cannot be created or written.
bool PrepareDataDir(const core::Settings& s) {
  std::error_code ec;
  fs::create_directories(s.data_dir, ec);
  if (ec || !fs::is_directory(s.data_dir)) {
    std::cerr << "playground: invalid setting DATA_DIR (--data-dir): cannot create '" << s.data_dir
              << "': " << ec.message() << "\n";
    return false;
  }
  return true;
}

// Outside production an unset SECRET_KEY is generated once and kept (mode 0600) in DATA_DIR, so
// that tokens survive restarts without the user having to invent a key.
bool ResolveSecretKey(core::Settings& s) {
  if (!s.secret_key.empty()) return true;
  fs::path path = fs::path(s.data_dir) / "secret_key";
  std::ifstream in(path);
  std::string key;
  if (in && std::getline(in, key) && key.size() >= core::kMinSecretKeyLength) {
    s.secret_key = key;
    return true;
  }
  key = core::RandomHex(32);
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << key << "\n";
    if (!out) {
      std::cerr << "playground: cannot write " << path << "; set SECRET_KEY instead\n";
      return false;
    }
  }
  ::chmod(tmp.c_str(), 0600);
  fs::rename(tmp, path);
  s.secret_key = key;
  core::LogWarn("SECRET_KEY not set: generated one and stored it in the data directory",
                {{"file", path.string()}, {"environment", s.environment}});
  return true;
}

std::unique_ptr<store::Store> OpenStoreOrReport(const core::Settings& s) {
  store::StoreOptions opts;
  opts.url = s.database_url;
  opts.pool_size = s.db_pool_size;
  opts.busy_timeout = s.db_busy_timeout;
  opts.connect_timeout = s.db_connect_timeout;
  try {
    return store::OpenStore(opts);
  } catch (const core::Error& e) {
    std::cerr << "playground: cannot open the database " << store::RedactUrl(s.database_url) << ": " << e.what()
              << "\n";
    core::LogError("cannot open the database", {{"database", store::RedactUrl(s.database_url)}, {"error", e.what()}});
    return nullptr;
  }
}

auth::AuthOptions AuthOptionsFrom(const core::Settings& s) {
  auth::AuthOptions o;
  o.secret_key = s.secret_key;
  o.access_ttl = std::chrono::duration_cast<std::chrono::seconds>(s.access_token_ttl);
  o.refresh_ttl = std::chrono::duration_cast<std::chrono::seconds>(s.refresh_token_ttl);
  o.argon2.memory_kib = static_cast<uint32_t>(s.argon2_memory_kib);
  o.argon2.iterations = static_cast<uint32_t>(s.argon2_iterations);
  return o;
}

std::unique_ptr<store::Store> OpenMigratedStore(const core::Settings& s, int& exit_code) {
  exit_code = kExitOk;
  if (s.database_url.rfind("sqlite", 0) == 0 && !PrepareDataDir(s)) {
    exit_code = kExitBadConfig;
    return nullptr;
  }
  auto db = OpenStoreOrReport(s);
  if (!db) {
    exit_code = kExitUnavailable;
    return nullptr;
  }
  try {
    store::Migrate(*db);
  } catch (const core::Error& e) {
    std::cerr << "playground: migration failed: " << e.what() << "\n";
    exit_code = e.code() == core::ErrorCode::kUnavailable ? kExitUnavailable : kExitFailure;
    return nullptr;
  }
  return db;
}

jobs::QueueOptions QueueOptionsFrom(const core::Settings& s, const std::string& role) {
  jobs::QueueOptions o;
  o.redis_url = s.redis_url;
  o.concurrency = s.worker_concurrency;
  o.role = role;
  o.heartbeat_interval = s.job_heartbeat_interval;
  o.stale_after = s.job_stale_after;
  o.poll_interval = s.job_poll_interval;
  o.retry_base = s.job_retry_base;
  o.default_max_attempts = s.job_max_attempts;
  o.prefetch = s.job_prefetch;
  o.prefetch_lease = s.job_prefetch_lease;
  o.shutdown_grace = s.shutdown_grace;
  return o;
}

// Every job type this binary can run. Features that own job types register them here.
void RegisterTasks(jobs::TaskRegistry& tasks, models::ModelTaskDeps& model_deps) {
  jobs::RegisterBuiltinTasks(tasks);
  models::RegisterModelTasks(tasks, model_deps);
}

// The built web UI: STATIC_DIR when set; else web/ beside the binary (an installed copy), else
// ../web/dist from it (the binary in build/ of a source tree after `make run`).
std::string WebUiDir(const core::Settings& s) {
  if (!s.static_dir.empty()) return s.static_dir;
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (const auto& candidate : {exe.parent_path() / "web", exe.parent_path() / ".." / "web" / "dist"}) {
    if (std::filesystem::is_regular_file(candidate / "index.html", ec)) return candidate.lexically_normal().string();
  }
  return "";
}

}  // namespace

int Migrate(const core::Settings& settings, bool status_only) {
  core::InitLogging(settings.log_level);
  if (settings.database_url.rfind("sqlite", 0) == 0 && !PrepareDataDir(settings)) return kExitBadConfig;
  auto db = OpenStoreOrReport(settings);
  if (!db) return kExitUnavailable;
  try {
    if (status_only) {
      for (const auto& m : store::MigrationStatuses(*db)) {
        std::printf("%04d  %-30s  %s\n", m.migration.version, m.migration.name.c_str(),
                    m.applied ? "applied" : "pending");
      }
      return kExitOk;
    }
    auto applied = store::Migrate(*db);
    std::printf("applied %zu migration(s)\n", applied.size());
    return kExitOk;
  } catch (const core::Error& e) {
    std::cerr << "playground: migration failed: " << e.what() << "\n";
    return e.code() == core::ErrorCode::kUnavailable ? kExitUnavailable : kExitFailure;
  }
}

int Serve(core::Settings settings) {
  core::InitLogging(settings.log_level);
  if (!PrepareDataDir(settings)) return kExitBadConfig;
  if (!ResolveSecretKey(settings)) return kExitBadConfig;

  int code = kExitOk;
  auto db = OpenMigratedStore(settings, code);
  if (!db) return code;

  // State shared across processes lives in Redis when it is configured, in memory otherwise.
  const core::Clock& clock = core::Clock::System();
  std::unique_ptr<redis::RedisClient> redis_client;
  std::unique_ptr<limits::RateLimiter> rate_limiter;
  std::unique_ptr<limits::LoginBackoff> backoff;
  if (!settings.redis_url.empty()) {
    try {
      redis::RedisOptions ro;
      ro.url = settings.redis_url;
      redis_client = std::make_unique<redis::RedisClient>(ro);
    } catch (const core::Error& e) {
      std::cerr << "playground: invalid setting REDIS_URL: " << e.what() << "\n";
      return kExitBadConfig;
    }
    rate_limiter = limits::MakeRedisRateLimiter(*redis_client, clock);
    backoff = limits::MakeRedisLoginBackoff(*redis_client, clock);
  } else {
    rate_limiter = limits::MakeMemoryRateLimiter(clock);
    backoff = limits::MakeMemoryLoginBackoff(clock);
  }

  api::HealthMonitor health;
  store::Store* store = db.get();
  health.Add(
      "database", [store] { return store->Ping(); }, /*required=*/true);
  if (redis_client) {
    redis::RedisClient* r = redis_client.get();
    health.Add(
        "redis", [r] { return r->Ping(); }, /*required=*/false);
  }
  health.Start();

  auth::AuditLog audit(*db, clock);
  auth::Accounts accounts(*db, clock, audit, AuthOptionsFrom(settings));
  auth::Shares shares(*db, clock);
  datasets::DatasetCatalog catalog(*db, clock, CatalogOptionsFrom(settings));
  catalog.StartMetricsRefresh(std::chrono::seconds(60));
  models::ModelRegistry model_registry(*db, clock, settings.data_dir, static_cast<size_t>(settings.model_cache_size));
  model_registry.RemoveLeftovers();
  auto prediction_cache = cache::MakeCache({.name = "predictions"}, clock, redis_client.get());
  models::ModelTaskDeps model_deps{catalog, model_registry, settings.train_threads};

  jobs::TaskRegistry tasks;
  RegisterTasks(tasks, model_deps);
  std::unique_ptr<jobs::JobQueue> queue;
  try {
    queue = jobs::MakeJobQueue(QueueOptionsFrom(settings, "serve"), *db, tasks, clock);
  } catch (const core::Error& e) {
    std::cerr << "playground: invalid setting REDIS_URL: " << e.what() << "\n";
    return kExitBadConfig;
  }
  jobs::Scheduler scheduler(*queue, *db, clock, settings.job_stale_after);
  jobs::JobWatcher job_watcher(queue->jobs(), std::chrono::milliseconds(100));
  api::ApiContext ctx{settings, *db,     health, accounts,  audit,       *rate_limiter,  *backoff,
                      shares,   catalog, *queue, scheduler, job_watcher, model_registry, prediction_cache.get()};
  http::Router router;
  api::AddRoutes(router, ctx);

  http::ServerOptions opts;
  opts.host = settings.host;
  opts.port = static_cast<uint16_t>(settings.port);
  opts.io_threads = settings.http_threads;
  opts.handler_threads = settings.handler_threads;
  opts.max_header_bytes = settings.max_header_bytes;
  opts.max_body_bytes = settings.max_body_bytes;
  opts.read_timeout = settings.read_timeout;
  opts.idle_timeout = settings.idle_timeout;
  opts.shutdown_grace = settings.shutdown_grace;
  std::vector<http::Middleware> middleware = api::StandardMiddleware(ctx);
  auto site = http::StaticSite::Load(WebUiDir(settings));
  middleware.push_back(http::StaticSiteMiddleware(site, settings.api_prefix));
  http::Server server(opts, router, std::move(middleware));
  try {
    server.Start();
  } catch (const core::Error& e) {
    std::cerr << "playground: " << e.what() << "\n";
    core::LogError("cannot start the HTTP server", {{"error", e.what()}});
    return e.code() == core::ErrorCode::kValidation ? kExitBadConfig : kExitUnavailable;
  }
  core::LogInfo("listening", {{"host", settings.host},
                              {"port", server.port()},
                              {"url", "http://" + settings.host + ":" + std::to_string(server.port())},
                              {"version", core::kVersion},
                              {"environment", settings.environment},
                              {"database", std::string(db->name())},
                              {"data_dir", settings.data_dir},
                              {"web_ui", site->empty() ? std::string("not built") : site->dir()}});
  queue->Start();
  scheduler.Start(settings.job_poll_interval);
  core::FlushLogs();

  bool drained = server.Run();
  scheduler.Stop();
  job_watcher.Stop();
  queue->Stop();
  health.Stop();
  core::FlushLogs();
  if (!drained) {
    // Handlers are still running past the grace period: leave without waiting for them.
    std::fflush(stdout);
    std::_Exit(kExitFailure);
  }
  return kExitOk;
}

int Worker(core::Settings settings) {
  core::InitLogging(settings.log_level);
  if (settings.redis_url.empty()) {
    std::cerr << "playground: a worker takes jobs from Redis: set REDIS_URL (--redis-url), the same as serve's\n";
    return kExitBadConfig;
  }
  if (settings.worker_concurrency < 1) {
    std::cerr << "playground: invalid setting WORKER_CONCURRENCY (--workers): a worker needs at least 1\n";
    return kExitBadConfig;
  }
  // SIGTERM and SIGINT are blocked in every thread (the queue's threads inherit the mask) and
  // taken by sigwait below, so a signal never interrupts a job's thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  int code = kExitOk;
  auto db = OpenMigratedStore(settings, code);
  if (!db) return code;
  datasets::DatasetCatalog catalog(*db, core::Clock::System(), CatalogOptionsFrom(settings));
  models::ModelRegistry model_registry(*db, core::Clock::System(), settings.data_dir,
                                       static_cast<size_t>(settings.model_cache_size));
  models::ModelTaskDeps model_deps{catalog, model_registry, settings.train_threads};
  jobs::TaskRegistry tasks;
  RegisterTasks(tasks, model_deps);
  std::unique_ptr<jobs::JobQueue> queue;
  try {
    queue = jobs::MakeJobQueue(QueueOptionsFrom(settings, "worker"), *db, tasks, core::Clock::System());
  } catch (const core::Error& e) {
    std::cerr << "playground: invalid setting REDIS_URL: " << e.what() << "\n";
    return kExitBadConfig;
  }
  queue->Start();

  // Optional /metrics and /health for Prometheus and probes; its threads inherit the blocked
  // signals, so shutdown stays with the sigwait below.
  http::Router router;
  std::unique_ptr<http::Server> metrics_server;
  std::thread metrics_thread;
  if (settings.worker_metrics_port >= 0) {
    store::Store* store = db.get();
    const std::string worker_id = queue->worker_id();
    router
        .Get("/metrics",
             [](http::Request&) {
               return http::Response::Text(200, core::Metrics::Global().Serialize(),
                                           "text/plain; version=0.0.4; charset=utf-8");
             })
        .Allow(http::Access::kPublic);
    router
        .Get("/health",
             [store, worker_id](http::Request&) {
               bool db_ok = store->Ping();
               return http::Response::Json(db_ok ? 200 : 503,
                                           {{"status", db_ok ? "healthy" : "degraded"},
                                            {"version", core::kVersion},
                                            {"worker_id", worker_id},
                                            {"uptime", static_cast<int64_t>(core::UptimeSeconds())}});
             })
        .Allow(http::Access::kPublic);
    http::ServerOptions so;
    so.host = settings.host;
    so.port = static_cast<uint16_t>(settings.worker_metrics_port);
    so.io_threads = 1;
    so.handler_threads = 1;
    so.handle_signals = false;
    metrics_server = std::make_unique<http::Server>(
        so, router,
        std::vector<http::Middleware>{http::RequestIdMiddleware(), http::ProblemMiddleware(settings.debug)});
    try {
      metrics_server->Start();
    } catch (const core::Error& e) {
      std::cerr << "playground: invalid setting WORKER_METRICS_PORT (--metrics-port): " << e.what() << "\n";
      queue->Stop();
      return kExitUnavailable;
    }
    core::LogInfo("worker metrics listening", {{"host", settings.host}, {"port", metrics_server->port()}});
    metrics_thread = std::thread([&metrics_server] { metrics_server->Run(); });
  }
  core::FlushLogs();
  int sig = 0;
  sigwait(&signals, &sig);
  core::LogInfo("stopping: running jobs finish within the grace period, the rest go back to the queue",
                {{"signal", sig}, {"grace_seconds", settings.shutdown_grace.count()}});
  core::FlushLogs();
  queue->Stop();
  if (metrics_server) {
    metrics_server->RequestShutdown();
    metrics_thread.join();
  }
  core::LogInfo("worker stopped");
  core::FlushLogs();
  return kExitOk;
}

}  // namespace playground::app

namespace playground::app {

datasets::CatalogOptions CatalogOptionsFrom(const core::Settings& settings) {
  datasets::CatalogOptions o;
  o.data_dir = settings.data_dir;
  o.max_upload_bytes = settings.max_upload_bytes;
  o.original_retention_days = settings.originals_retention_days;
  o.ingest.max_columns = static_cast<size_t>(settings.dataset_max_columns);
  o.ingest.max_field_bytes = static_cast<size_t>(settings.dataset_max_field_bytes);
  o.ingest.memory_budget_bytes = static_cast<size_t>(settings.ingest_memory_mb) << 20;
  o.ingest.threads = settings.ingest_threads;
  return o;
}

int Datasets(core::Settings settings, const std::string& action) {
  core::InitLogging("warn");
  if (!PrepareDataDir(settings)) return kExitBadConfig;
  int code = kExitOk;
  auto db = OpenMigratedStore(settings, code);
  if (!db) return code;
  try {
    datasets::DatasetCatalog catalog(*db, core::Clock::System(), CatalogOptionsFrom(settings));
    if (action == "cleanup") {
      auto report = catalog.Cleanup();
      std::printf("expired originals removed: %d\nleftovers removed: %d\n", report.originals_removed,
                  report.leftovers_removed);
    }
    return kExitOk;
  } catch (const core::Error& e) {
    std::cerr << "playground: " << e.what() << "\n";
    return e.code() == core::ErrorCode::kUnavailable ? kExitUnavailable : 1;
  }
}

int Users(core::Settings settings, const UsersCommand& cmd) {
  core::InitLogging("warn");
  if (!PrepareDataDir(settings) || !ResolveSecretKey(settings)) return kExitBadConfig;
  int code = kExitOk;
  auto db = OpenMigratedStore(settings, code);
  if (!db) return code;
  const core::Clock& clock = core::Clock::System();
  auth::AuditLog audit(*db, clock);
  auth::Accounts accounts(*db, clock, audit, AuthOptionsFrom(settings));
  auth::RequestInfo from{"cli", ""};
  try {
    if (cmd.action == "list") {
      for (const auto& u : accounts.ListUsers()) {
        std::printf("%-36s  %-32s  %-6s  %s\n", u.id.c_str(), u.email.c_str(), u.role.c_str(),
                    u.disabled ? "disabled" : "active");
      }
      return kExitOk;
    }
    if (cmd.action == "create") {
      std::string password = cmd.password;
      if (password.empty()) {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): single-threaded command
        if (const char* env = std::getenv("PLAYGROUND_PASSWORD"); env != nullptr) password = env;
      }
      if (password.empty()) std::getline(std::cin, password);  // never on the command line by default
      auto u = accounts.Register(cmd.email, password, cmd.role.empty() ? auth::kRoleMember : cmd.role, from);
      std::printf("created %s (%s) %s\n", u.email.c_str(), u.role.c_str(), u.id.c_str());
      return kExitOk;
    }
    auto user = accounts.FindUserByEmail(cmd.email);
    if (!user) {
      std::cerr << "playground: no account with email " << cmd.email << "\n";
      return kExitFailure;
    }
    if (cmd.action == "set-role") {
      auto u = accounts.SetRole(user->id, cmd.role, "", from);
      std::printf("%s is now %s\n", u.email.c_str(), u.role.c_str());
    } else {
      auto u = accounts.SetDisabled(user->id, cmd.action == "disable", "", from);
      std::printf("%s is now %s\n", u.email.c_str(), u.disabled ? "disabled" : "active");
    }
    return kExitOk;
  } catch (const core::Error& e) {
    std::cerr << "playground: " << e.what() << "\n";
    return e.code() == core::ErrorCode::kValidation || e.code() == core::ErrorCode::kConflict ? kExitBadConfig
                                                                                              : kExitFailure;
  }
}

}  // namespace playground::app

#include "core/settings.h"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace playground::core {
namespace {

[[noreturn]] void Invalid(const std::string& why) { Fail(ErrorCode::kValidation, why); }

int64_t ParseInt(const std::string& v, int64_t min, int64_t max) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) Invalid("'" + v + "' is not an integer");
  if (out < min || out > max) {
    Invalid("'" + v + "' is outside " + std::to_string(min) + ".." + std::to_string(max));
  }
  return out;
}

bool ParseBool(const std::string& v) {
  std::string s = v;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return false;
  Invalid("'" + v + "' is not a boolean (true/false, 1/0, yes/no, on/off)");
}

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

// Helpers that build a row's parser, keeping the type text and the validation together.
template <typename Field>
SettingSpec IntRow(std::string env, std::string flag, std::string def, std::string help, Field Settings::*field,
                   int64_t min, int64_t max) {
  return {
      std::move(env),
      std::move(flag),
      std::move(def),
      "integer " + std::to_string(min) + ".." + std::to_string(max),
      std::move(help),
      false,
      [field, min, max](Settings& s, const std::string& v) { s.*field = static_cast<Field>(ParseInt(v, min, max)); }};
}

template <typename Duration>
SettingSpec DurationRow(std::string env, std::string flag, std::string def, std::string help, Duration Settings::*field,
                        int64_t min, int64_t max, const char* unit) {
  return {std::move(env),
          std::move(flag),
          std::move(def),
          std::string("integer ") + unit + " " + std::to_string(min) + ".." + std::to_string(max),
          std::move(help),
          false,
          [field, min, max](Settings& s, const std::string& v) { s.*field = Duration(ParseInt(v, min, max)); }};
}

SettingSpec ChoiceRow(std::string env, std::string flag, std::string def, std::string help,
                      std::string Settings::*field, std::vector<std::string> choices) {
  std::string joined;
  for (const auto& c : choices) joined += (joined.empty() ? "" : " | ") + c;
  return {std::move(env),
          std::move(flag),
          std::move(def),
          "one of " + joined,
          std::move(help),
          false,
          [field, choices, joined](Settings& s, const std::string& v) {
            if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
              Invalid("'" + v + "' is not one of " + joined);
            }
            s.*field = v;
          }};
}

std::vector<SettingSpec> BuildTable() {
  std::vector<SettingSpec> t;
  t.push_back(ChoiceRow("ENVIRONMENT", "environment", "development",
                        "Deployment environment; production enforces a strong SECRET_KEY.", &Settings::environment,
                        {"development", "staging", "production"}));
  t.push_back({"DEBUG", "debug", "false", "bool", "Verbose errors and debug logging.", false,
               [](Settings& s, const std::string& v) { s.debug = ParseBool(v); }});
  t.push_back(ChoiceRow("LOG_LEVEL", "log-level", "info", "Minimum level of the JSON log lines on stdout.",
                        &Settings::log_level, {"trace", "debug", "info", "warn", "error", "off"}));
  t.push_back({"HOST", "host", "127.0.0.1", "address", "Address to listen on (0.0.0.0 for all interfaces).", false,
               [](Settings& s, const std::string& v) {
                 if (v.empty()) Invalid("must not be empty");
                 s.host = v;
               }});
  t.push_back(IntRow("PORT", "port", "8000", "TCP port to listen on (0: any free port, printed at start).",
                     &Settings::port, 0, 65535));
  t.push_back({"DATA_DIR", "data-dir", "./data", "path",
               "Directory for the SQLite database, datasets and models; created if missing.", false,
               [](Settings& s, const std::string& v) {
                 if (v.empty()) Invalid("must not be empty");
                 s.data_dir = v;
               }});
  t.push_back({"DATABASE_URL", "database-url", "", "URL",
               "sqlite:///path/to/file.db or postgresql://user:pass@host:port/db?sslmode=...; empty: "
               "sqlite under DATA_DIR.",
               true, [](Settings& s, const std::string& v) {
                 if (!v.empty() && v.rfind("sqlite://", 0) != 0 && v.rfind("postgresql://", 0) != 0 &&
                     v.rfind("postgres://", 0) != 0) {
                   Invalid("must start with sqlite://, postgresql:// or postgres://");
                 }
                 s.database_url = v;
               }});
  t.push_back({"REDIS_URL", "redis-url", "", "URL",
               "redis://host:port/db for the job broker, caches and shared rate limits; empty: in-process.", true,
               [](Settings& s, const std::string& v) {
                 if (!v.empty() && v.rfind("redis://", 0) != 0 && v.rfind("rediss://", 0) != 0) {
                   Invalid("must start with redis:// or rediss://");
                 }
                 s.redis_url = v;
               }});
  t.push_back({"SECRET_KEY", "secret-key", "", "string",
               "Key that signs access tokens; at least 32 characters in production. Outside production an "
               "unset key is generated once and kept in DATA_DIR/secret_key.",
               true, [](Settings& s, const std::string& v) { s.secret_key = v; }});
  t.push_back({"CORS_ORIGINS", "cors-origins", "", "comma-separated origins",
               "Origins allowed to call the API from a browser, e.g. http://localhost:5173.", false,
               [](Settings& s, const std::string& v) {
                 s.cors_origins = SplitList(v);
                 for (const auto& o : s.cors_origins) {
                   if (o != "*" && o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0) {
                     Invalid("origin '" + o + "' must start with http:// or https://");
                   }
                 }
               }});
  t.push_back({"API_V1_PREFIX", "api-prefix", "/api/v1", "path", "Path prefix of the REST API.", false,
               [](Settings& s, const std::string& v) {
                 if (v.size() < 2 || v.front() != '/' || v.back() == '/') {
                   Invalid("must start with '/' and not end with '/'");
                 }
                 s.api_prefix = v;
               }});
  t.push_back(IntRow("HTTP_THREADS", "http-threads", "2", "Network I/O threads (never blocked by work).",
                     &Settings::http_threads, 1, 64));
  t.push_back(IntRow("HANDLER_THREADS", "handler-threads", "8",
                     "Threads that run request handlers which touch the database or disk.", &Settings::handler_threads,
                     1, 256));
  t.push_back(IntRow("MAX_HEADER_BYTES", "max-header-bytes", "16384", "Largest request header accepted (431 above).",
                     &Settings::max_header_bytes, 1024, 1 << 20));
  t.push_back(IntRow("MAX_BODY_BYTES", "max-body-bytes", "1048576",
                     "Largest JSON request body accepted (413 above); uploads have their own limit.",
                     &Settings::max_body_bytes, 1024, int64_t{1} << 30));
  t.push_back(DurationRow("READ_TIMEOUT_SECONDS", "read-timeout", "30",
                          "Longest wait for the next piece of a request once it has started.", &Settings::read_timeout,
                          1, 3600, "seconds"));
  t.push_back(DurationRow("IDLE_TIMEOUT_SECONDS", "idle-timeout", "60",
                          "How long an idle keep-alive connection stays open.", &Settings::idle_timeout, 1, 3600,
                          "seconds"));
  t.push_back(DurationRow("SHUTDOWN_GRACE_SECONDS", "shutdown-grace", "30",
                          "On SIGTERM/SIGINT, how long in-flight requests may run before the process exits.",
                          &Settings::shutdown_grace, 0, 600, "seconds"));
  t.push_back(IntRow("DB_POOL_SIZE", "db-pool-size", "10", "Database connections per process.", &Settings::db_pool_size,
                     1, 500));
  t.push_back(DurationRow("DB_BUSY_TIMEOUT_MS", "db-busy-timeout", "5000",
                          "SQLite: how long a statement waits for a lock before failing.", &Settings::db_busy_timeout,
                          0, 600000, "milliseconds"));
  t.push_back(DurationRow("DB_CONNECT_TIMEOUT_SECONDS", "db-connect-timeout", "5",
                          "PostgreSQL: connect timeout, and the longest wait for a free pooled connection.",
                          &Settings::db_connect_timeout, 1, 300, "seconds"));
  t.push_back({"STATIC_DIR", "static-dir", "", "path",
               "Directory of the built web UI to serve at /; empty: web/ beside the binary, else ../web/dist from it "
               "(a source tree after make run), if built.",
               false, [](Settings& s, const std::string& v) { s.static_dir = v; }});
  t.push_back(IntRow("ACCESS_TOKEN_EXPIRE_MINUTES", "access-token-minutes", "30", "Lifetime of an access token (JWT).",
                     &Settings::access_token_ttl, 1, 24 * 60));
  t.push_back(
      {"REFRESH_TOKEN_EXPIRE_DAYS", "refresh-token-days", "7", "integer 1..90",
       "Lifetime of a refresh token (each is used once and replaced).", false,
       [](Settings& s, const std::string& v) { s.refresh_token_ttl = std::chrono::hours(24 * ParseInt(v, 1, 90)); }});
  t.push_back(IntRow("ARGON2_MEMORY_KIB", "argon2-memory", "19456",
                     "argon2id memory cost of new password hashes (older hashes upgrade at next sign-in).",
                     &Settings::argon2_memory_kib, 8192, 1 << 20));
  t.push_back(IntRow("ARGON2_ITERATIONS", "argon2-iterations", "2", "argon2id time cost of new password hashes.",
                     &Settings::argon2_iterations, 1, 64));
  t.push_back(IntRow("RATE_LIMIT_API", "rate-limit-api", "100",
                     "API requests per second, per client address and per account (burst: twice as many).",
                     &Settings::rate_limit_api, 1, 1000000));
  t.push_back(IntRow("RATE_LIMIT_AUTH", "rate-limit-auth", "5",
                     "Sign-in, registration and refresh requests per second, per client address and per account.",
                     &Settings::rate_limit_auth, 1, 1000000));
  t.push_back(IntRow("RATE_LIMIT_UPLOAD", "rate-limit-upload", "1",
                     "Uploads per second, per client address and per account.", &Settings::rate_limit_upload, 1,
                     1000000));
  t.push_back(IntRow("RATE_LIMIT_PREDICT", "rate-limit-predict", "1000",
                     "Prediction requests per second, per client address and per account (burst: twice as many).",
                     &Settings::rate_limit_predict, 1, 1000000));
  t.push_back({"WORKER_CONCURRENCY", "workers", "", "integer 0..256",
               "Job worker threads of this process (serve and worker); 0: run no jobs here; empty: the number of "
               "cores.",
               false, [](Settings& s, const std::string& v) {
                 s.worker_concurrency = v.empty() ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))
                                                  : static_cast<int>(ParseInt(v, 0, 256));
               }});
  t.push_back({"WORKER_METRICS_PORT", "metrics-port", "", "integer 0..65535",
               "`playground worker` serves /metrics and /health on HOST at this port (0: any free port, printed "
               "at start); empty: none.",
               false, [](Settings& s, const std::string& v) {
                 s.worker_metrics_port = v.empty() ? -1 : static_cast<int>(ParseInt(v, 0, 65535));
               }});
  t.push_back(DurationRow("JOB_HEARTBEAT_MS", "job-heartbeat", "2000",
                          "How often a worker records that its running jobs are alive (and sees cancellations).",
                          &Settings::job_heartbeat_interval, 10, 60000, "milliseconds"));
  t.push_back(DurationRow("JOB_STALE_MS", "job-stale", "30000",
                          "A running job whose worker has not sent a heartbeat for this long is given to another "
                          "worker.",
                          &Settings::job_stale_after, 100, 3600000, "milliseconds"));
  t.push_back(DurationRow("JOB_POLL_MS", "job-poll", "1000",
                          "How often queued jobs are re-published to the broker, silent workers' jobs requeued, "
                          "schedules checked and queue_depth refreshed.",
                          &Settings::job_poll_interval, 10, 60000, "milliseconds"));
  t.push_back(DurationRow("JOB_RETRY_BASE_MS", "job-retry-base", "1000",
                          "Delay before the first retry of a failed job; doubled each attempt (with jitter), at most "
                          "an hour.",
                          &Settings::job_retry_base, 1, 3600000, "milliseconds"));
  t.push_back(IntRow("JOB_MAX_ATTEMPTS", "job-max-attempts", "3",
                     "Attempts a job gets when it does not ask for a number (transient failures are retried).",
                     &Settings::job_max_attempts, 1, 100));
  t.push_back(IntRow("JOB_PREFETCH", "job-prefetch", "128",
                     "Most jobs a worker thread takes and claims at once while a backlog waits (1: one at a time).",
                     &Settings::job_prefetch, 1, 10000));
  t.push_back(DurationRow("JOB_PREFETCH_LEASE_MS", "job-prefetch-lease", "1000",
                          "A job a worker claimed but has not started within this long goes back to the queue for "
                          "other workers.",
                          &Settings::job_prefetch_lease, 10, 600000, "milliseconds"));
  t.push_back(IntRow("MAX_UPLOAD_BYTES", "max-upload-bytes", "1073741824",
                     "Largest dataset upload or append accepted (413 above).", &Settings::max_upload_bytes, 1024,
                     int64_t{1} << 40));
  t.push_back(IntRow("DATASET_MAX_COLUMNS", "dataset-max-columns", "20000", "Most columns a dataset may have.",
                     &Settings::dataset_max_columns, 1, 1000000));
  t.push_back(IntRow("DATASET_MAX_FIELD_BYTES", "dataset-max-field-bytes", "16777216",
                     "Longest single value (field) in an uploaded file.", &Settings::dataset_max_field_bytes, 1024,
                     int64_t{1} << 30));
  t.push_back(IntRow("INGEST_MEMORY_MB", "ingest-memory-mb", "256",
                     "Memory one upload's conversion may use for the rows it holds at once (the file itself is "
                     "streamed to disk, never held whole).",
                     &Settings::ingest_memory_mb, 4, 1 << 20));
  t.push_back(IntRow("INGEST_THREADS", "ingest-threads", "2", "Threads one upload's conversion and profile use.",
                     &Settings::ingest_threads, 1, 64));
  t.push_back(IntRow("ORIGINALS_RETENTION_DAYS", "originals-retention-days", "30",
                     "Days an uploaded original file is kept beside its converted dataset (0: not kept).",
                     &Settings::originals_retention_days, 0, 3650));
  t.push_back({"TRAIN_THREADS", "train-threads", "", "integer 1..256",
               "Threads one training job may use (and the default it gets); empty: the number of cores.", false,
               [](Settings& s, const std::string& v) {
                 s.train_threads = v.empty() ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))
                                             : static_cast<int>(ParseInt(v, 1, 256));
               }});
  t.push_back(IntRow("PREDICT_MAX_ROWS", "predict-max-rows", "1000",
                     "Most rows one prediction request may score (batch_predict scores whole datasets).",
                     &Settings::predict_max_rows, 1, 100000));
  t.push_back(IntRow("MODEL_CACHE_SIZE", "model-cache-size", "32",
                     "Loaded models kept in memory per process for predictions (least recently used out first).",
                     &Settings::model_cache_size, 1, 100000));
  return t;
}

}  // namespace

const std::vector<SettingSpec>& SettingSpecs() {
  static const std::vector<SettingSpec> table = BuildTable();
  return table;
}

Settings ResolveSettings(const std::map<std::string, std::string>& raw) {
  Settings s;
  for (const auto& spec : SettingSpecs()) {
    auto it = raw.find(spec.env);
    const std::string& value = it != raw.end() ? it->second : spec.default_value;
    try {
      spec.assign(s, value);
    } catch (const Error& e) {
      Fail(ErrorCode::kValidation, "invalid setting " + spec.env + " (--" + spec.flag + "): " + e.what());
    }
  }
  if (s.database_url.empty()) {
    std::string dir = s.data_dir;
    if (dir.back() == '/') dir.pop_back();
    s.database_url = "sqlite://" + dir + "/playground.db";
  }
  if (s.job_stale_after <= 2 * s.job_heartbeat_interval) {
    Fail(ErrorCode::kValidation,
         "invalid setting JOB_STALE_MS (--job-stale): must be more than twice JOB_HEARTBEAT_MS (--job-heartbeat), "
         "or live workers would lose their jobs");
  }
  if (s.production()) {
    if (s.secret_key.empty()) {
      Fail(ErrorCode::kValidation, "invalid setting SECRET_KEY (--secret-key): required when ENVIRONMENT=production");
    }
    bool weak = s.secret_key.size() < kMinSecretKeyLength;
    static const char* kKnownWeak[] = {"changeme", "change-me", "secret", "<strong-secret-key>", "your-secret-key"};
    for (const char* w : kKnownWeak) weak = weak || s.secret_key.find(w) != std::string::npos;
    if (std::all_of(s.secret_key.begin(), s.secret_key.end(), [&](char c) { return c == s.secret_key[0]; }))
      weak = true;
    if (weak) {
      Fail(ErrorCode::kValidation, "invalid setting SECRET_KEY (--secret-key): too weak for production; use at least " +
                                       std::to_string(kMinSecretKeyLength) +
                                       " random characters (e.g. `openssl rand -hex 32`)");
    }
  }
  return s;
}

std::string SettingsMarkdown() {
  std::string out = "| variable | flag | default | type | meaning |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& spec : SettingSpecs()) {
    std::string def = spec.default_value.empty() ? "(empty)" : "`" + spec.default_value + "`";
    out += "| `" + spec.env + "` | `--" + spec.flag + "` | " + def + " | " + spec.type + " | " + spec.help + " |\n";
  }
  return out;
}

}  // namespace playground::core

// The platform's configuration: every setting is declared once, in the table in settings.cpp.
//
// That table is the single source of truth: it produces the command-line flags (with their
// --help text), reads the environment variables named as in the seeds (DATABASE_URL, SECRET_KEY,
// ...), validates each value, and renders the README's settings table. A flag overrides its
// environment variable, which overrides the default.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace playground::core {

// Typed, validated settings. Thread-compatible: built once at start-up, then read-only.
struct Settings {
  std::string environment;  // development | staging | production
  bool debug = false;
  std::string log_level;
  std::string host;
  int port = 0;
  std::string data_dir;
  std::string database_url;  // resolved: never empty after validation
  std::string redis_url;     // empty: embedded (in-process) broker and caches
  std::string secret_key;    // empty until resolved by the serve command
  std::vector<std::string> cors_origins;
  std::string api_prefix;
  int http_threads = 0;
  int handler_threads = 0;
  int64_t max_header_bytes = 0;
  int64_t max_body_bytes = 0;
  std::chrono::seconds read_timeout{0};
  std::chrono::seconds idle_timeout{0};
  std::chrono::seconds shutdown_grace{0};
  int db_pool_size = 0;
  std::chrono::milliseconds db_busy_timeout{0};
  std::chrono::seconds db_connect_timeout{0};
  std::string static_dir;  // the built web UI (web/dist); empty: none
  std::chrono::minutes access_token_ttl{0};
  std::chrono::hours refresh_token_ttl{0};
  int argon2_memory_kib = 0;
  int argon2_iterations = 0;
  int rate_limit_api = 0;  // requests per second per client address and per account
  int rate_limit_auth = 0;
  int rate_limit_upload = 0;
  int rate_limit_predict = 0;
  int worker_concurrency = 0;  // job worker threads in this process; resolved from the core count
  std::chrono::milliseconds job_heartbeat_interval{0};
  std::chrono::milliseconds job_stale_after{0};
  std::chrono::milliseconds job_poll_interval{0};
  std::chrono::milliseconds job_retry_base{0};
  int job_max_attempts = 0;
  int job_prefetch = 0;
  std::chrono::milliseconds job_prefetch_lease{0};
  int worker_metrics_port = -1;  // `playground worker`'s /metrics and /health; -1: none
  int64_t max_upload_bytes = 0;
  int dataset_max_columns = 0;
  int64_t dataset_max_field_bytes = 0;
  int ingest_memory_mb = 0;
  int ingest_threads = 0;
  int originals_retention_days = 0;
  int train_threads = 0;  // threads one training job may use; resolved from the core count
  int predict_max_rows = 0;
  int model_cache_size = 0;  // loaded models kept in memory

  bool production() const { return environment == "production"; }
};

// One row of the settings table.
struct SettingSpec {
  std::string env;            // environment variable, e.g. "PORT"
  std::string flag;           // long flag without dashes, e.g. "port"
  std::string default_value;  // as text, as a user would type it; may be empty
  std::string type;           // for documentation: "integer 1..65535", "bool", ...
  std::string help;
  bool secret = false;  // never printed, logged or shown as a default
  // Parses and validates `value` into `settings`; throws core::Error(kValidation) with a
  // message that names the problem (the caller adds the setting's name).
  std::function<void(Settings&, const std::string& value)> assign;
};

// The table, in the order it is documented.
const std::vector<SettingSpec>& SettingSpecs();

// Builds Settings from raw values keyed by environment-variable name; a missing key takes the
// default. Throws core::Error(kValidation) whose message names the setting, its variable and
// flag, and what is wrong. Also applies cross-setting rules (e.g. a production SECRET_KEY).
Settings ResolveSettings(const std::map<std::string, std::string>& raw);

// The README's settings table (Markdown), generated from SettingSpecs().
std::string SettingsMarkdown();

// Minimum length of a SECRET_KEY accepted in production.
inline constexpr size_t kMinSecretKeyLength = 32;

}  // namespace playground::core

#include "app/commands.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "api/api.h"
#include "api/health.h"
#include "app/app.h"
#include "core/error.h"
#include "core/log.h"
#include "core/random.h"
#include "core/version.h"
#include "http/server.h"
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

  auto db = OpenStoreOrReport(settings);
  if (!db) return kExitUnavailable;
  try {
    store::Migrate(*db);
  } catch (const core::Error& e) {
    std::cerr << "playground: migration failed: " << e.what() << "\n";
    core::LogError("migration failed", {{"error", e.what()}});
    return e.code() == core::ErrorCode::kUnavailable ? kExitUnavailable : kExitFailure;
  }

  api::HealthMonitor health;
  store::Store* store = db.get();
  health.Add(
      "database", [store] { return store->Ping(); }, /*required=*/true);
  health.Start();

  api::ApiContext ctx{settings, *db, health};
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
  http::Server server(opts, router, api::StandardMiddleware(settings));
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
                              {"data_dir", settings.data_dir}});
  core::FlushLogs();

  bool drained = server.Run();
  health.Stop();
  core::FlushLogs();
  if (!drained) {
    // Handlers are still running past the grace period: leave without waiting for them.
    std::fflush(stdout);
    std::_Exit(kExitFailure);
  }
  return kExitOk;
}

}  // namespace playground::app

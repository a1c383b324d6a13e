#include "store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "store/pool.h"

namespace playground::store::internal {
namespace {

using core::ErrorCode;
using SteadyClock = std::chrono::steady_clock;

// WAL checkpoints (copying committed pages back into the database file, with an fsync) run on a
// background thread every kCheckpointInterval, so that no request or job pays for one: with
// SQLite's default, the commit that crosses 1,000 WAL pages checkpoints inline, which took
// milliseconds here and was the p99 of a job's round trip. The commit-time checkpoint stays as
// a backstop at kBackstopCheckpointPages (40 MB of WAL), should the thread fall far behind.
// Each checkpoint's fsyncs stall the other writers on the disk for a moment, so fewer, larger
// ones are kinder to latency: at 250 ms the stalls were the p99 of a job's round trip, at 1 s
// they fall below it (bench/queue).
constexpr auto kCheckpointInterval = std::chrono::milliseconds(1000);
constexpr int kBackstopCheckpointPages = 10000;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
struct SqliteFree {
  void operator()(char* p) const { sqlite3_free(p); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;
using SqliteString = std::unique_ptr<char, SqliteFree>;

constexpr size_t kMaxSqlInMessage = 200;

bool IsBusy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

ErrorCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return ErrorCode::kConflict;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL: return ErrorCode::kUnavailable;
    case SQLITE_INTERRUPT: return ErrorCode::kTimeout;
    default: return ErrorCode::kInternal;
  }
}

std::string Abbreviated(std::string_view sql) {
  if (sql.size() <= kMaxSqlInMessage) return std::string(sql);
  return std::string(sql.substr(0, kMaxSqlInMessage)) + "...";
}

// `detail` is sqlite's own message, read right after the failing call on the same connection.
// The SQL text (never parameter values) is added to errors that point at a bug.
[[noreturn]] void Throw(int rc, std::string_view detail, std::string_view sql) {
  ErrorCode code = CodeFor(rc);
  std::string message = "sqlite: " + std::string(detail);
  if (code == ErrorCode::kInternal && !sql.empty()) message += " (in: " + Abbreviated(sql) + ")";
  core::Fail(code, message);
}

bool OnlyBlanks(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ';') return false;
  }
  return true;
}

// Lets the statement cache be searched with a string_view, without building a string per query.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// One open database handle with the module's pragmas applied.
// Thread-compatible: the pool lends it to one thread at a time.
class SqliteConn {
 public:
  SqliteConn(const std::string& path, std::chrono::milliseconds busy_timeout) {
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);  // sqlite hands out a handle even on failure; it must be closed too
    if (rc != SQLITE_OK) {
      core::Fail(ErrorCode::kUnavailable,
                 "cannot open sqlite database " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_extended_result_codes(db(), 1);
    busy_timeout_ = busy_timeout;
    sqlite3_busy_handler(db(), &SqliteConn::OnBusy, this);
    // The first statements touch the file, so a path that cannot be opened fails here; report
    // that as unavailable like any other open failure.
    try {
      if (path != ":memory:") ExecScript("PRAGMA journal_mode=WAL");
      ExecScript("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON");
      if (path != ":memory:") ExecScript("PRAGMA wal_autocheckpoint=" + std::to_string(kBackstopCheckpointPages));
    } catch (const core::Error& e) {
      core::Fail(e.code() == ErrorCode::kInternal ? ErrorCode::kUnavailable : e.code(),
                 "cannot open sqlite database " + path + ": " + e.what());
    }
  }

  sqlite3* db() const { return db_.get(); }

  // Waits for a lock another connection holds. Written here rather than using
  // sqlite3_busy_timeout, whose waits are 1, 2, 5, 10... ms: a write lock is usually held for
  // tens of microseconds, so those sleeps would cap a busy writer (e.g. job workers recording
  // state) at a few hundred statements per second. This one polls every 50 us for the first
  // millisecond, then backs off to 1 ms, until the connection's busy timeout.
  static int OnBusy(void* self, int attempt) {
    auto* conn = static_cast<SqliteConn*>(self);
    auto now = SteadyClock::now();
    if (attempt == 0) conn->busy_since_ = now;
    if (now - conn->busy_since_ >= conn->busy_timeout_) return 0;
    auto pause = attempt < 20 ? std::chrono::microseconds(50) : std::chrono::microseconds(1000);
    std::this_thread::sleep_for(pause);
    return 1;
  }

  // Runs statements without parameters; returns sqlite's result code instead of throwing so
  // that BEGIN can be retried.
  int TryExec(const char* sql) { return sqlite3_exec(db(), sql, nullptr, nullptr, nullptr); }

  void ExecScript(std::string_view sql) {
    std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
    char* raw_error = nullptr;
    int rc = sqlite3_exec(db(), text.c_str(), nullptr, nullptr, &raw_error);
    SqliteString error(raw_error);
    if (rc != SQLITE_OK) Throw(rc, error ? error.get() : sqlite3_errstr(rc), sql);
  }

  // Rolls back whatever transaction is open; errors are ignored because the pool checks
  // InTransaction() before reusing the connection.
  void Rollback() {
    if (!sqlite3_get_autocommit(db())) TryExec("ROLLBACK");
  }

  bool InTransaction() const { return sqlite3_get_autocommit(db()) == 0; }

  Result Query(std::string_view sql, const Params& params) {
    StmtHandle uncached;  // declared before `reset`, so finalized after it
    sqlite3_stmt* stmt = Cached(sql, uncached);
    // A statement left mid-step would keep its read transaction open; bound text points into
    // `params`, which is gone after this call.
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    Bind(stmt, sql, params);
    Result result;
    int64_t changes_before = sqlite3_total_changes64(db());
    int columns = -1;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc != SQLITE_DONE && rc != SQLITE_ROW) Throw(rc, sqlite3_errmsg(db()), sql);
      if (columns < 0) {
        // Only now: the first step prepares a kept statement again after a schema change.
        columns = sqlite3_column_count(stmt);
        result.columns.reserve(columns);
        for (int c = 0; c < columns; ++c) result.columns.emplace_back(sqlite3_column_name(stmt, c));
      }
      if (rc == SQLITE_DONE) break;
      result.rows.push_back(ReadRow(stmt, columns));
    }
    // sqlite3_changes() keeps the count of the last INSERT/UPDATE/DELETE even after a SELECT or
    // DDL statement; only trust it when this statement changed something.
    if (sqlite3_total_changes64(db()) != changes_before) result.affected = sqlite3_changes64(db());
    return result;
  }

 private:
  // The connection's prepared statement for `sql`, prepared on first use. Parsing and planning
  // cost more than running the short statements of a request, and the program's statements are
  // a small set (their texts are built from constants), so a bounded map keeps them; should it
  // fill anyway, it starts over. Statements with many parameters are the batch forms (`IN (?,
  // ?, ...)` of every length), which would crowd the others out and whose parsing is paid once
  // for many rows: they are prepared for this call only, into `uncached`. sqlite prepares a kept
  // statement again by itself after a schema change.
  sqlite3_stmt* Cached(std::string_view sql, StmtHandle& uncached) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second.get();
    StmtHandle stmt = Prepare(sql);
    sqlite3_stmt* raw = stmt.get();
    if (sqlite3_bind_parameter_count(raw) > kMaxCachedParameters) {
      uncached = std::move(stmt);
      return raw;
    }
    if (statements_.size() >= kMaxCachedStatements) statements_.clear();
    statements_.emplace(std::string(sql), std::move(stmt));
    return raw;
  }

  StmtHandle Prepare(std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    StmtHandle stmt(raw);
    if (rc != SQLITE_OK) Throw(rc, sqlite3_errmsg(db()), sql);
    if (!stmt) core::Fail(ErrorCode::kInternal, "sqlite: empty SQL statement");
    std::string_view rest = sql.substr(static_cast<size_t>(tail - sql.data()));
    if (!OnlyBlanks(rest)) {
      // A trailing comment is fine; a second statement would be silently ignored by sqlite.
      sqlite3_stmt* second = nullptr;
      sqlite3_prepare_v2(db(), rest.data(), static_cast<int>(rest.size()), &second, nullptr);
      StmtHandle second_stmt(second);
      if (second_stmt) {
        core::Fail(ErrorCode::kInternal, "sqlite: Query takes one statement (in: " + Abbreviated(sql) + ")");
      }
    }
    return stmt;
  }

  void Bind(sqlite3_stmt* stmt, std::string_view sql, const Params& params) {
    int expected = sqlite3_bind_parameter_count(stmt);
    if (expected != static_cast<int>(params.size())) {
      core::Fail(ErrorCode::kInternal, "sqlite: statement takes " + std::to_string(expected) + " parameters, got " +
                                           std::to_string(params.size()) + " (in: " + Abbreviated(sql) + ")");
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i) + 1;
      // SQLITE_STATIC: `params` outlives the statement, which is finalized before Query returns.
      int rc = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
              return sqlite3_bind_null(stmt, index);
            } else if constexpr (std::is_same_v<T, int64_t>) {
              return sqlite3_bind_int64(stmt, index, v);
            } else if constexpr (std::is_same_v<T, double>) {
              return sqlite3_bind_double(stmt, index, v);
            } else {
              return sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
            }
          },
          params[i]);
      if (rc != SQLITE_OK) Throw(rc, sqlite3_errmsg(db()), sql);
    }
  }

  static Row ReadRow(sqlite3_stmt* stmt, int columns) {
    std::vector<Value> values;
    values.reserve(columns);
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER: values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c))); break;
        case SQLITE_FLOAT: values.emplace_back(sqlite3_column_double(stmt, c)); break;
        case SQLITE_TEXT: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          values.emplace_back(std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, c))));
          break;
        }
        case SQLITE_BLOB: {
          const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt, c));
          size_t size = static_cast<size_t>(sqlite3_column_bytes(stmt, c));
          values.emplace_back(blob ? std::string(blob, size) : std::string());
          break;
        }
        default: values.emplace_back(nullptr);
      }
    }
    return Row(std::move(values));
  }

  static constexpr size_t kMaxCachedStatements = 128;
  static constexpr int kMaxCachedParameters = 16;

  DbHandle db_;
  // After db_, so that the statements are finalized before the handle closes.
  std::unordered_map<std::string, StmtHandle, TextHash, std::equal_to<>> statements_;
  std::chrono::milliseconds busy_timeout_{0};
  SteadyClock::time_point busy_since_{};  // when the current wait for a lock began
};

// Tx over the connection the enclosing Transaction holds. Thread-compatible.
class SqliteTx final : public Tx {
 public:
  explicit SqliteTx(SqliteConn& conn) : conn_(conn) {}
  Result Query(std::string_view sql, const Params& params) override { return conn_.Query(sql, params); }
  void ExecScript(std::string_view sql) override { conn_.ExecScript(sql); }

 private:
  SqliteConn& conn_;
};

// Safe for concurrent use: every call borrows a pooled connection for its duration.
class SqliteStore final : public Store {
 public:
  SqliteStore(const StoreOptions& options, std::string path)
      : path_(std::move(path)),
        busy_timeout_(options.busy_timeout),
        pool_wait_(options.connect_timeout),
        // A private in-memory database exists once per connection, so it allows only one.
        pool_(
            path_ == ":memory:" ? 1 : options.pool_size,
            [path = path_, busy = options.busy_timeout] { return std::make_unique<SqliteConn>(path, busy); },
            [](SqliteConn& conn) { return !conn.InTransaction(); }) {
    // Creates the file now, so that a bad path fails at start-up rather than on first use.
    pool_.Acquire(pool_wait_);
    if (path_ != ":memory:") {
      checkpoint_conn_ = std::make_unique<SqliteConn>(path_, busy_timeout_);
      checkpointer_ = std::thread([this] { CheckpointLoop(); });
    }
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(checkpoint_mu_);
      stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
  }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string_view name() const override { return "sqlite"; }

  Result Query(std::string_view sql, const Params& params) override {
    auto conn = pool_.Acquire(pool_wait_);
    return conn->Query(sql, params);
  }

  void Transaction(const std::function<void(Tx&)>& fn) override {
    auto conn = pool_.Acquire(pool_wait_);
    Begin(*conn);
    SqliteTx tx(*conn);
    try {
      fn(tx);
    } catch (...) {
      conn->Rollback();
      throw;
    }
    int rc = conn->TryExec("COMMIT");
    if (rc != SQLITE_OK) {
      std::string detail = sqlite3_errmsg(conn->db());
      conn->Rollback();
      Throw(rc, detail, "COMMIT");
    }
  }

  bool Ping() override {
    try {
      Query("SELECT 1", {});
      return true;
    } catch (const core::Error&) {
      return false;
    }
  }

  PoolStats Stats() const override { return pool_.Stats(); }

 private:
  // BEGIN IMMEDIATE takes the write lock now; sqlite's busy handler waits for it, but some
  // WAL situations return SQLITE_BUSY without calling the handler, so retry until the deadline.
  void Begin(SqliteConn& conn) {
    auto deadline = SteadyClock::now() + busy_timeout_;
    for (;;) {
      int rc = conn.TryExec("BEGIN IMMEDIATE");
      if (rc == SQLITE_OK) return;
      if (!IsBusy(rc)) Throw(rc, sqlite3_errmsg(conn.db()), "BEGIN IMMEDIATE");
      if (SteadyClock::now() >= deadline) {
        core::Fail(ErrorCode::kUnavailable, "sqlite: database is locked (the write lock was not free within " +
                                                std::to_string(busy_timeout_.count()) + " ms)");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  // A PASSIVE checkpoint never waits for readers or writers; what it cannot copy now is copied
  // on a later turn. Busy (another process is checkpointing) is normal and ignored.
  // The thread runs at the lowest CPU priority: copying a few thousand pages is a burst of CPU
  // that would otherwise take a core from requests and jobs (on a small machine, the p99 of a
  // job's round trip). When the cores are busy for long, the backstop still bounds the WAL.
  void CheckpointLoop() {
    // On Linux this applies to the calling thread only; should it fail, only latency suffers.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
    std::unique_lock lock(checkpoint_mu_);
    while (!checkpoint_cv_.wait_for(lock, kCheckpointInterval, [this] { return stopping_; })) {
      lock.unlock();
      sqlite3_wal_checkpoint_v2(checkpoint_conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      lock.lock();
    }
  }

  const std::string path_;
  const std::chrono::milliseconds busy_timeout_;
  const std::chrono::milliseconds pool_wait_;
  ConnectionPool<SqliteConn> pool_;
  std::unique_ptr<SqliteConn> checkpoint_conn_;  // used by checkpointer_ only
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool stopping_ = false;  // guarded by checkpoint_mu_
  std::thread checkpointer_;
};

}  // namespace

std::unique_ptr<Store> OpenSqliteStore(const StoreOptions& options, const std::string& path) {
  return std::make_unique<SqliteStore>(options, path);
}

}  // namespace playground::store::internal

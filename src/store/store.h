// The database seam: one Store interface, two backends (SQLite and PostgreSQL) chosen by
// DATABASE_URL through OpenStore(). Callers never name a backend.
//
// SQL is written once, in the subset both dialects share, with `?` placeholders (the PostgreSQL
// backend rewrites them to $1, $2, ...). Ids are TEXT (UUIDs made by the application), times are
// BIGINT microseconds since the Unix epoch, booleans are INTEGER 0/1, JSON is TEXT. Errors from
// sqlite3/libpq are converted to core::Error here: kUnavailable when the database cannot be
// reached or a lock could not be taken in time, kConflict for a unique/foreign-key violation,
// kInternal otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace playground::store {

// A parameter or a column value. Booleans travel as int64_t 0/1.
using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;
using Params = std::vector<Value>;

// One result row. Thread-compatible.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::nullptr_t>(values_.at(i)); }
  // Typed accessors; integers and doubles convert into each other, and numeric text from
  // PostgreSQL converts to numbers. A NULL read as a non-optional type throws kInternal.
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  const std::string& Text(size_t i) const;
  std::optional<int64_t> OptInt(size_t i) const;
  std::optional<std::string> OptText(size_t i) const;
  const Value& at(size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};

struct Result {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
};

enum class Dialect { kSqlite, kPostgres };

// Runs statements inside one transaction. Valid only inside Store::Transaction's callback.
// Thread-compatible: used by the one thread that runs the callback.
class Tx {
 public:
  virtual ~Tx() = default;
  virtual Result Query(std::string_view sql, const Params& params = {}) = 0;
  int64_t Exec(std::string_view sql, const Params& params = {}) { return Query(sql, params).affected; }
  // Added for migrations: runs a script of several `;`-separated statements without parameters
  // (Query takes exactly one statement). The script must not contain BEGIN/COMMIT.
  virtual void ExecScript(std::string_view sql) = 0;
};

struct PoolStats {
  int size = 0;    // connections the pool may hold
  int in_use = 0;  // connections lent out now
  int idle = 0;    // open connections waiting
};

// Safe for concurrent use: every call takes a pooled connection for its duration.
class Store {
 public:
  virtual ~Store() = default;
  virtual Dialect dialect() const = 0;
  // Backend name for /health and logs: "sqlite" or "postgresql".
  virtual std::string_view name() const = 0;

  // One statement in its own transaction (autocommit).
  virtual Result Query(std::string_view sql, const Params& params = {}) = 0;
  int64_t Exec(std::string_view sql, const Params& params = {}) { return Query(sql, params).affected; }

  // Runs `fn` in a transaction: committed when it returns, rolled back when it throws (the
  // exception is rethrown). Write transactions on SQLite take the write lock at BEGIN
  // (BEGIN IMMEDIATE), so two writers never deadlock.
  // Added: on PostgreSQL a deadlock or serialization failure reruns `fn` (up to 5 times, then
  // kUnavailable), so `fn` must keep side effects inside the transaction; and any statement error
  // aborts the transaction there, so catching it inside `fn` does not let the transaction commit.
  virtual void Transaction(const std::function<void(Tx&)>& fn) = 0;

  // True when a trivial query succeeds within the connect timeout.
  virtual bool Ping() = 0;
  virtual PoolStats Stats() const = 0;
};

struct StoreOptions {
  std::string url;  // sqlite:///abs/path.db, sqlite://relative/path.db, postgresql://...
  int pool_size = 10;
  std::chrono::milliseconds busy_timeout{5000};  // SQLite lock wait
  std::chrono::seconds connect_timeout{5};       // PostgreSQL connect and pool wait
};

// Opens the backend the URL names; connects lazily except for one connection checked at once.
// Throws core::Error(kUnavailable) with the reason when the database cannot be reached, and
// kValidation for a malformed URL. The URL's password never appears in a message.
std::unique_ptr<Store> OpenStore(const StoreOptions& options);

// The URL with any password replaced by "***", for logs and errors.
std::string RedactUrl(std::string_view url);

// Microseconds since the Unix epoch, the representation of every stored time.
int64_t ToMicros(std::chrono::system_clock::time_point t);
std::chrono::system_clock::time_point FromMicros(int64_t us);

}  // namespace playground::store

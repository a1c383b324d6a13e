#include "store/postgres_store.h"

#include <libpq-fe.h>

#include <charconv>
#include <optional>
#include <random>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "store/pool.h"

namespace playground::store::internal {
namespace {

using core::ErrorCode;

struct ConnFinisher {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultClearer {
  void operator()(PGresult* res) const { PQclear(res); }
};
struct ConninfoFreer {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
struct PqFreer {
  void operator()(char* p) const { PQfreemem(p); }
};
using ConnHandle = std::unique_ptr<PGconn, ConnFinisher>;
using ResultHandle = std::unique_ptr<PGresult, ResultClearer>;
using ConninfoHandle = std::unique_ptr<PQconninfoOption, ConninfoFreer>;
using PqString = std::unique_ptr<char, PqFreer>;

// Type OIDs from catalog/pg_type.h (a server header that libpq-dev does not ship).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// Serialization failures and deadlocks abort a transaction that would succeed if run again.
constexpr int kMaxAttempts = 5;
constexpr size_t kMaxSqlInMessage = 200;

// A serialization failure or deadlock (SQLSTATE 40001/40P01): the whole transaction may be
// retried. Stays a core::Error(kUnavailable) for any caller that sees it.
// Thread-compatible (immutable).
class RetryableError : public core::Error {
 public:
  explicit RetryableError(const std::string& message) : core::Error(ErrorCode::kUnavailable, message) {}
};

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string Abbreviated(std::string_view sql) {
  if (sql.size() <= kMaxSqlInMessage) return std::string(sql);
  return std::string(sql.substr(0, kMaxSqlInMessage)) + "...";
}

// libpq messages end in a newline and may span lines ("...\n\tIs the server running...").
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Removes the connection password from any text that might echo it. libpq does not put
// passwords in its messages, but a scrub is cheap insurance against leaking one into logs.
// Thread-compatible (immutable after construction).
class Redactor {
 public:
  // `secrets`: the password as written in the URL and as libpq decoded it (they differ when
  // percent-encoded); empty ones are ignored.
  Redactor(std::string url, std::vector<std::string> secrets) : url_(std::move(url)) {
    for (auto& s : secrets) {
      if (!s.empty()) secrets_.push_back(std::move(s));
    }
  }
  const std::string& url() const { return url_; }  // already redacted
  std::string Scrub(std::string text) const {
    for (const std::string& secret : secrets_) {
      for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
        text.replace(at, secret.size(), "***");
      }
    }
    return text;
  }

 private:
  std::string url_;
  std::vector<std::string> secrets_;
};

// The password exactly as written in the URL's userinfo (scheme://user:password@host), found
// the same way RedactUrl finds it.
std::string RawUrlPassword(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < scheme_end + 3) return "";
  size_t colon = url.find(':', scheme_end + 3);
  if (colon == std::string_view::npos || colon > at) return "";
  return std::string(url.substr(colon + 1, at - colon - 1));
}

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsTagStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

// The first error a transaction hit; PostgreSQL aborts the transaction on any error, so a
// callback that catches it cannot carry on and commit.
struct TxFailure {
  ErrorCode code;
  std::string message;
  bool retryable;
};

// One server connection. Thread-compatible: the pool lends it to one thread at a time.
class PgConn {
 public:
  PgConn(const std::string& conninfo, const Redactor& redactor) : redactor_(redactor) {
    conn_.reset(PQconnectdb(conninfo.c_str()));
    if (!conn_) {
      core::Fail(ErrorCode::kUnavailable, "cannot connect to PostgreSQL at " + redactor_.url() + ": out of memory");
    }
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      core::Fail(ErrorCode::kUnavailable, redactor_.Scrub("cannot connect to PostgreSQL at " + redactor_.url() + ": " +
                                                          OneLine(PQerrorMessage(conn_.get()))));
    }
    // libpq prints notices ("relation ... already exists, skipping") to stderr by default,
    // which would break the one-JSON-object-per-line log output.
    PQsetNoticeProcessor(
        conn_.get(),
        [](void*, const char* message) {
          if (core::LogEnabled(core::LogLevel::kDebug)) {
            core::Log(core::LogLevel::kDebug, "postgresql notice", {{"notice", OneLine(message)}});
          }
        },
        nullptr);
  }

  bool Broken() const { return PQstatus(conn_.get()) != CONNECTION_OK; }
  // Fit to be lent again: connected and outside any transaction.
  bool Reusable() const { return !Broken() && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE; }
  bool InFailedTransaction() const { return PQtransactionStatus(conn_.get()) == PQTRANS_INERROR; }

  Result Query(std::string_view sql, const Params& params) {
    int placeholders = 0;
    std::string text = RewritePlaceholders(sql, &placeholders);
    if (placeholders != static_cast<int>(params.size())) {
      core::Fail(ErrorCode::kInternal, "postgresql: statement takes " + std::to_string(placeholders) +
                                           " parameters, got " + std::to_string(params.size()) +
                                           " (in: " + Abbreviated(sql) + ")");
    }
    // Every parameter travels as text and the server infers its type from the context, which
    // keeps one SQL text valid for both backends. NULL is a null pointer.
    std::vector<std::string> formatted(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (const auto* s = std::get_if<std::string>(&v)) {
        values[i] = s->c_str();
      } else if (const auto* n = std::get_if<int64_t>(&v)) {
        formatted[i] = std::to_string(*n);
        values[i] = formatted[i].c_str();
      } else if (const auto* d = std::get_if<double>(&v)) {
        char buf[64];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *d);  // shortest text that round-trips
        formatted[i].assign(buf, end);
        values[i] = formatted[i].c_str();
      }
    }
    // PQexecParams uses the unnamed statement, which PgBouncer in transaction mode supports.
    ResultHandle res(PQexecParams(conn_.get(), text.c_str(), static_cast<int>(params.size()), nullptr,
                                  values.empty() ? nullptr : values.data(), nullptr, nullptr, 0));
    CheckResult(res.get(), sql);
    return ToResult(res.get());
  }

  // Simple-query protocol: the only way to run several statements in one call.
  void ExecScript(std::string_view sql) {
    std::string text(sql);
    ResultHandle res(PQexec(conn_.get(), text.c_str()));
    CheckResult(res.get(), sql);
  }

  // Ends whatever transaction is open. Failures are ignored: the pool checks Reusable() and
  // closes a connection whose transaction did not end.
  void RollbackQuietly() {
    if (Broken() || PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return;
    ResultHandle res(PQexec(conn_.get(), "ROLLBACK"));
  }

 private:
  void CheckResult(const PGresult* res, std::string_view sql) {
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return;
    ThrowError(res, sql);
  }

  [[noreturn]] void ThrowError(const PGresult* res, std::string_view sql) {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string sqlstate = state ? state : "";
    // Errors raised by libpq itself (lost connection, out of memory) have no SQLSTATE and leave
    // their text on the connection.
    std::string message = "postgresql: " + OneLine(primary ? primary : PQerrorMessage(conn_.get()));
    if (!sqlstate.empty()) message += " (SQLSTATE " + sqlstate + ")";
    std::string_view cls = std::string_view(sqlstate).substr(0, 2);
    ErrorCode code = ErrorCode::kInternal;
    if (Broken() || cls == "08" || cls == "53" || StartsWith(sqlstate, "57P") || sqlstate == "55P03") {
      // Connection lost or refused, server shutting down or out of resources, lock not available.
      code = ErrorCode::kUnavailable;
    } else if (sqlstate == "40001" || sqlstate == "40P01") {
      throw RetryableError(redactor_.Scrub(std::move(message)));
    } else if (cls == "23") {
      code = ErrorCode::kConflict;
    } else if (sqlstate == "57014") {
      code = ErrorCode::kTimeout;
    }
    if (code == ErrorCode::kInternal) message += " (in: " + Abbreviated(sql) + ")";
    core::Fail(code, redactor_.Scrub(std::move(message)));
  }

  static Result ToResult(const PGresult* res) {
    enum class Kind { kInt, kFloat, kBool, kText };
    Result result;
    int fields = PQnfields(res);
    int tuples = PQntuples(res);
    std::vector<Kind> kinds(fields, Kind::kText);
    result.columns.reserve(fields);
    for (int f = 0; f < fields; ++f) {
      result.columns.emplace_back(PQfname(res, f));
      switch (PQftype(res, f)) {
        case kInt2Oid:
        case kInt4Oid:
        case kInt8Oid:
        case kOidOid: kinds[f] = Kind::kInt; break;
        case kFloat4Oid:
        case kFloat8Oid:
        case kNumericOid: kinds[f] = Kind::kFloat; break;
        case kBoolOid: kinds[f] = Kind::kBool; break;
        default: break;
      }
    }
    result.rows.reserve(tuples);
    for (int t = 0; t < tuples; ++t) {
      std::vector<Value> values;
      values.reserve(fields);
      for (int f = 0; f < fields; ++f) {
        if (PQgetisnull(res, t, f)) {
          values.emplace_back(nullptr);
          continue;
        }
        const char* text = PQgetvalue(res, t, f);
        const char* end = text + PQgetlength(res, t, f);
        switch (kinds[f]) {
          case Kind::kInt: {
            int64_t n = 0;
            auto parsed = std::from_chars(text, end, n);
            if (parsed.ec == std::errc() && parsed.ptr == end) {
              values.emplace_back(n);
            } else {
              values.emplace_back(std::string(text, end));
            }
            break;
          }
          case Kind::kFloat: {
            double d = 0;
            auto parsed = std::from_chars(text, end, d);
            if (parsed.ec == std::errc() && parsed.ptr == end) {
              values.emplace_back(d);
            } else {
              values.emplace_back(std::string(text, end));  // e.g. a numeric beyond double's range
            }
            break;
          }
          case Kind::kBool: values.emplace_back(int64_t{text[0] == 't' ? 1 : 0}); break;
          case Kind::kText: values.emplace_back(std::string(text, end)); break;
        }
      }
      result.rows.emplace_back(std::move(values));
    }
    // PQcmdTuples also counts rows for SELECT, COPY and FETCH; match SQLite, where only changed
    // rows count.
    std::string_view status = PQcmdStatus(const_cast<PGresult*>(res));
    if (StartsWith(status, "INSERT ") || StartsWith(status, "UPDATE ") || StartsWith(status, "DELETE ") ||
        StartsWith(status, "MERGE ")) {
      std::string_view count = PQcmdTuples(const_cast<PGresult*>(res));
      std::from_chars(count.data(), count.data() + count.size(), result.affected);
    }
    return result;
  }

  ConnHandle conn_;
  const Redactor& redactor_;  // owned by the store, which outlives its connections
};

// Tx over the connection the enclosing Transaction holds; remembers the first error so that
// Transaction can tell a retryable abort from a caught-and-ignored one. Thread-compatible.
class PgTx final : public Tx {
 public:
  explicit PgTx(PgConn& conn) : conn_(conn) {}

  Result Query(std::string_view sql, const Params& params) override {
    return Recorded([&] { return conn_.Query(sql, params); });
  }
  void ExecScript(std::string_view sql) override {
    Recorded([&] {
      conn_.ExecScript(sql);
      return 0;
    });
  }

  const std::optional<TxFailure>& failure() const { return failure_; }

 private:
  template <typename F>
  std::invoke_result_t<F> Recorded(F&& f) {
    try {
      return f();
    } catch (const RetryableError& e) {
      if (!failure_) failure_ = TxFailure{e.code(), e.what(), true};
      throw;
    } catch (const core::Error& e) {
      if (!failure_) failure_ = TxFailure{e.code(), e.what(), false};
      throw;
    }
  }

  PgConn& conn_;
  std::optional<TxFailure> failure_;
};

void Backoff(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_int_distribution<int> jitter(5, 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng) * attempt));
}

// Safe for concurrent use: every call borrows a pooled connection for its duration.
class PostgresStore final : public Store {
 public:
  PostgresStore(const StoreOptions& options, std::string conninfo, Redactor redactor)
      : conninfo_(std::move(conninfo)),
        redactor_(std::move(redactor)),
        pool_wait_(options.connect_timeout),
        pool_(
            options.pool_size, [this] { return std::make_unique<PgConn>(conninfo_, redactor_); },
            [this](PgConn& conn) {
              // A connection that broke is most likely one of many cut by a server restart or a
              // network failure: close the idle ones too rather than fail one request per
              // stale connection.
              if (conn.Broken()) pool_.DropIdle();
              return conn.Reusable();
            }) {
    pool_.Acquire(pool_wait_);  // fail at start-up, not on the first request
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string_view name() const override { return "postgresql"; }

  // An autocommit statement that deadlocks was rolled back, so running it again is safe.
  Result Query(std::string_view sql, const Params& params) override {
    for (int attempt = 1;; ++attempt) {
      try {
        auto conn = pool_.Acquire(pool_wait_);
        return conn->Query(sql, params);
      } catch (const RetryableError& e) {
        GiveUpOrWait(attempt, e);
      }
    }
  }

  // The callback may run more than once: a serialization failure or deadlock reruns the whole
  // transaction (up to kMaxAttempts) because only a rerun can succeed.
  void Transaction(const std::function<void(Tx&)>& fn) override {
    for (int attempt = 1;; ++attempt) {
      try {
        RunTransaction(fn);
        return;
      } catch (const RetryableError& e) {
        GiveUpOrWait(attempt, e);
      }
    }
  }

  bool Ping() override {
    try {
      auto conn = pool_.Acquire(pool_wait_);
      conn->Query("SELECT 1", {});
      return true;
    } catch (const core::Error&) {
      return false;
    }
  }

  PoolStats Stats() const override { return pool_.Stats(); }

 private:
  using Lease = ConnectionPool<PgConn>::Lease;

  static void GiveUpOrWait(int attempt, const RetryableError& e) {
    if (attempt >= kMaxAttempts) {
      core::Fail(ErrorCode::kUnavailable,
                 "postgresql: transaction failed " + std::to_string(kMaxAttempts) + " times: " + e.what());
    }
    Backoff(attempt);
  }

  // An idle connection may have been closed by the server since its last use; nothing has run
  // on it yet, so a failed BEGIN on a broken connection is safely retried on a fresh one.
  Lease BeginTransaction() {
    for (int attempt = 1;; ++attempt) {
      Lease conn = pool_.Acquire(pool_wait_);
      try {
        conn->Query("BEGIN", {});
        return conn;
      } catch (const core::Error&) {
        if (attempt > 1 || !conn->Broken()) throw;
      }
    }
  }

  void RunTransaction(const std::function<void(Tx&)>& fn) {
    Lease conn = BeginTransaction();
    PgTx tx(*conn);
    try {
      fn(tx);
    } catch (...) {
      conn->RollbackQuietly();
      // Rerun when the database aborted the transaction for a retryable reason, however the
      // callback chose to report it.
      if (tx.failure() && tx.failure()->retryable) throw RetryableError(tx.failure()->message);
      throw;
    }
    if (conn->InFailedTransaction()) {
      // The callback caught an error and returned; PostgreSQL would turn COMMIT into ROLLBACK.
      conn->RollbackQuietly();
      if (!tx.failure()) core::Fail(ErrorCode::kInternal, "postgresql: the transaction was aborted by an error");
      if (tx.failure()->retryable) throw RetryableError(tx.failure()->message);
      core::Fail(tx.failure()->code,
                 tx.failure()->message + " (this error aborted the transaction; the callback must not ignore it)");
    }
    try {
      conn->Query("COMMIT", {});
    } catch (const RetryableError&) {
      throw;
    } catch (const core::Error& e) {
      if (conn->Broken()) {
        core::Fail(ErrorCode::kUnavailable, std::string(e.what()) +
                                                " (the connection was lost during COMMIT: the transaction may or may "
                                                "not have been committed)");
      }
      throw;
    }
  }

  const std::string conninfo_;
  const Redactor redactor_;
  const std::chrono::milliseconds pool_wait_;
  ConnectionPool<PgConn> pool_;
};

}  // namespace

std::string RewritePlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int placeholders = 0;
  size_t i = 0;
  const size_t len = sql.size();
  auto copy_to = [&](size_t end) {
    end = std::min(end, len);
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < len) {
    char c = sql[i];
    char next = i + 1 < len ? sql[i + 1] : '\0';
    if (c == '\'') {
      // E'...' strings use backslash escapes; in every string '' is an escaped quote.
      bool backslash = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !IsIdentChar(sql[i - 2]));
      size_t j = i + 1;
      while (j < len) {
        if (backslash && sql[j] == '\\') {
          j += 2;
        } else if (sql[j] == '\'') {
          if (j + 1 < len && sql[j + 1] == '\'') {
            j += 2;
          } else {
            break;
          }
        } else {
          ++j;
        }
      }
      copy_to(j + 1);
    } else if (c == '"') {
      // A doubled "" inside an identifier reads as a closing and a reopening quote: same result.
      size_t j = sql.find('"', i + 1);
      copy_to(j == std::string_view::npos ? len : j + 1);
    } else if (c == '-' && next == '-') {
      size_t j = sql.find('\n', i);
      copy_to(j == std::string_view::npos ? len : j + 1);
    } else if (c == '/' && next == '*') {
      int depth = 0;  // PostgreSQL block comments nest
      size_t j = i;
      while (j < len) {
        if (sql[j] == '/' && j + 1 < len && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (sql[j] == '*' && j + 1 < len && sql[j + 1] == '/') {
          j += 2;
          if (--depth == 0) break;
        } else {
          ++j;
        }
      }
      copy_to(j);
    } else if (c == '$' && (i == 0 || !IsIdentChar(sql[i - 1])) && (next == '$' || IsTagStart(next))) {
      // A dollar-quoted string $tag$...$tag$ (tag may be empty), unless this is not a tag after all.
      size_t tag_end = i + 1;
      while (tag_end < len && sql[tag_end] != '$' && IsIdentChar(sql[tag_end])) ++tag_end;
      if (tag_end < len && sql[tag_end] == '$') {
        std::string_view tag = sql.substr(i, tag_end - i + 1);
        size_t close = sql.find(tag, tag_end + 1);
        copy_to(close == std::string_view::npos ? len : close + tag.size());
      } else {
        copy_to(i + 1);
      }
    } else if (c == '?') {
      ++placeholders;
      out += '$';
      out += std::to_string(placeholders);
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  if (count) *count = placeholders;
  return out;
}

std::unique_ptr<Store> OpenPostgresStore(const StoreOptions& options) {
  const std::string redacted = RedactUrl(options.url);
  const std::string raw_password = RawUrlPassword(options.url);
  char* raw_error = nullptr;
  ConninfoHandle parsed(PQconninfoParse(options.url.c_str(), &raw_error));
  PqString error(raw_error);
  if (!parsed) {
    Redactor redactor(redacted, {raw_password});
    core::Fail(ErrorCode::kValidation, redactor.Scrub("malformed PostgreSQL URL " + redacted + ": " +
                                                      (error ? OneLine(error.get()) : std::string("out of memory"))));
  }
  std::string password;
  bool has_connect_timeout = false;
  for (const PQconninfoOption* o = parsed.get(); o->keyword; ++o) {
    std::string_view keyword = o->keyword;
    if (keyword == "password" && o->val) password = o->val;
    if (keyword == "connect_timeout" && o->val && *o->val) has_connect_timeout = true;
  }
  // The URL goes to libpq unchanged (it understands postgresql:// with ?sslmode=...), plus a
  // connect timeout so that an unreachable server fails within the configured time.
  std::string conninfo = options.url;
  if (!has_connect_timeout) {
    conninfo += conninfo.find('?') == std::string::npos ? '?' : '&';
    conninfo += "connect_timeout=" + std::to_string(std::max<int64_t>(1, options.connect_timeout.count()));
  }
  Redactor redactor(redacted, {raw_password, password});
  return std::make_unique<PostgresStore>(options, std::move(conninfo), std::move(redactor));
}

}  // namespace playground::store::internal

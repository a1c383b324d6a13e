#include "store/store.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <system_error>

#include "core/error.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace playground::store {
namespace {

using core::ErrorCode;

const Value& Checked(const std::vector<Value>& values, size_t i) {
  if (i >= values.size()) {
    core::Fail(ErrorCode::kInternal,
               "column " + std::to_string(i) + " out of range (row has " + std::to_string(values.size()) + ")");
  }
  return values[i];
}

[[noreturn]] void NullColumn(size_t i) { core::Fail(ErrorCode::kInternal, "column " + std::to_string(i) + " is NULL"); }

bool ParseInt(const std::string& s, int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseDouble(const std::string& s, double& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

int64_t DoubleToInt(double d, size_t i) {
  // 2^63 is exactly representable; anything at or beyond it does not fit.
  if (!std::isfinite(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
    core::Fail(ErrorCode::kInternal, "column " + std::to_string(i) + " does not fit an integer");
  }
  return static_cast<int64_t>(d);
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

int64_t Row::Int(size_t i) const {
  const Value& v = Checked(values_, i);
  if (const auto* n = std::get_if<int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return DoubleToInt(*d, i);
  if (const auto* s = std::get_if<std::string>(&v)) {
    int64_t n = 0;
    if (ParseInt(*s, n)) return n;
    double d = 0;
    if (ParseDouble(*s, d)) return DoubleToInt(d, i);  // e.g. a PostgreSQL numeric like "3.0"
    core::Fail(ErrorCode::kInternal, "column " + std::to_string(i) + " is not a number");
  }
  NullColumn(i);
}

double Row::Double(size_t i) const {
  const Value& v = Checked(values_, i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* n = std::get_if<int64_t>(&v)) return static_cast<double>(*n);
  if (const auto* s = std::get_if<std::string>(&v)) {
    double d = 0;
    if (ParseDouble(*s, d)) return d;
    core::Fail(ErrorCode::kInternal, "column " + std::to_string(i) + " is not a number");
  }
  NullColumn(i);
}

const std::string& Row::Text(size_t i) const {
  const Value& v = Checked(values_, i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (std::holds_alternative<std::nullptr_t>(v)) NullColumn(i);
  core::Fail(ErrorCode::kInternal, "column " + std::to_string(i) + " is not text");
}

std::optional<int64_t> Row::OptInt(size_t i) const {
  if (std::holds_alternative<std::nullptr_t>(Checked(values_, i))) return std::nullopt;
  return Int(i);
}

std::optional<std::string> Row::OptText(size_t i) const {
  if (std::holds_alternative<std::nullptr_t>(Checked(values_, i))) return std::nullopt;
  return Text(i);
}

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  // Password in the userinfo: scheme://user:password@host...
  size_t scheme_end = out.find("://");
  if (scheme_end != std::string::npos) {
    size_t authority = scheme_end + 3;
    // The last '@' anywhere ends the userinfo: a malformed password may contain unencoded '@',
    // '/' or '?', and redacting too much is harmless while redacting too little leaks.
    size_t at = out.rfind('@');
    if (at != std::string::npos && at >= authority) {
      size_t colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // libpq also accepts the password as a query parameter: ...?password=secret&sslmode=...
  size_t query = out.find('?');
  while (query != std::string::npos) {
    size_t key = query + 1;
    size_t next = out.find('&', key);
    std::string_view param =
        std::string_view(out).substr(key, next == std::string::npos ? std::string::npos : next - key);
    if (StartsWith(param, "password=")) {
      size_t value = key + 9;
      out.replace(value, param.size() - 9, "***");
      next = out.find('&', value);
    }
    query = next;
  }
  return out;
}

int64_t ToMicros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point FromMicros(int64_t us) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(us)));
}

std::unique_ptr<Store> OpenStore(const StoreOptions& options) {
  if (options.pool_size < 1) core::Fail(ErrorCode::kValidation, "database pool size must be at least 1");
  std::string_view url = options.url;
  if (StartsWith(url, "sqlite://")) {
    std::string path(url.substr(9));
    if (path.empty()) {
      core::Fail(ErrorCode::kValidation, "sqlite URL has no file path: " + RedactUrl(url) +
                                             " (expected sqlite:///abs/path.db or sqlite://relative/path.db)");
    }
    if (path != ":memory:") {
      std::filesystem::path parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
        if (ec) {
          core::Fail(ErrorCode::kUnavailable,
                     "cannot create the directory of the sqlite database " + parent.string() + ": " + ec.message());
        }
      }
    }
    return internal::OpenSqliteStore(options, path);
  }
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) return internal::OpenPostgresStore(options);
  core::Fail(ErrorCode::kValidation, "unsupported database URL " + RedactUrl(url) +
                                         " (expected sqlite:///path.db, postgresql://... or postgres://...)");
}

}  // namespace playground::store

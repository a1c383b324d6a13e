#include "redis/url.h"

#include <charconv>
#include <optional>

#include "core/error.h"

namespace playground::redis {
namespace {

using core::ErrorCode;

constexpr std::string_view kScheme = "redis://";
constexpr std::string_view kTlsScheme = "rediss://";

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = HexValue(s[i + 1]);
    int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::optional<int> ParseInt(std::string_view s, int min, int max) {
  int value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value < min || value > max) return std::nullopt;
  return value;
}

// The span between "scheme://" and the last '@' (the userinfo), if any. The last '@' because an
// unencoded '@' in a password is a common mistake, and splitting there keeps the whole password
// out of the host part (and so out of error messages).
std::optional<std::pair<size_t, size_t>> Userinfo(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  size_t start = scheme_end + 3;
  size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::nullopt;
  return std::make_pair(start, at);
}

}  // namespace

std::string RedactRedisUrl(std::string_view url) {
  std::string out(url);
  auto userinfo = Userinfo(url);
  if (!userinfo) return out;
  auto [start, at] = *userinfo;
  size_t colon = out.find(':', start);
  if (colon != std::string::npos && colon < at) {
    out.replace(colon + 1, at - colon - 1, "***");
  } else if (at > start) {
    out.replace(start, at - start, "***");
  }
  return out;
}

RedisAddress ParseRedisUrl(std::string_view url) {
  const std::string redacted = RedactRedisUrl(url);
  auto invalid = [&](const std::string& why) {
    core::Fail(ErrorCode::kValidation,
               "invalid Redis URL " + redacted + ": " + why + " (expected redis://[[user]:password@]host[:port][/db])");
  };
  if (StartsWith(url, kTlsScheme)) {
    core::Fail(ErrorCode::kValidation, "TLS to Redis is not supported; use a local TLS tunnel (" + redacted + ")");
  }
  if (!StartsWith(url, kScheme)) invalid("the scheme must be redis://");

  RedisAddress address;
  std::string_view rest = url.substr(kScheme.size());
  if (auto userinfo = Userinfo(url)) {
    std::string_view info = url.substr(userinfo->first, userinfo->second - userinfo->first);
    size_t colon = info.find(':');
    if (colon == std::string_view::npos) {
      // Clients disagree on whether a lone userinfo is a user or a password; refuse to guess.
      invalid("write the password after a colon (redis://:password@host or redis://user:password@host)");
    }
    auto user = PercentDecode(info.substr(0, colon));
    auto password = PercentDecode(info.substr(colon + 1));
    if (!user || !password) invalid("bad percent-encoding in the user or password");
    address.user = std::move(*user);
    address.password = std::move(*password);
    if (address.password.empty()) invalid("the password after ':' is empty");
    rest = url.substr(userinfo->second + 1);
  }

  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (rest.find_first_of("?#") != std::string_view::npos) invalid("query parameters are not supported");

  std::string_view port_text;
  if (StartsWith(hostport, "[")) {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) invalid("unterminated [IPv6 address]");
    address.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') invalid("unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) invalid("empty port");
    }
  } else {
    size_t colon = hostport.find(':');
    address.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      if (port_text.empty()) invalid("empty port");
    }
  }
  if (address.host.empty()) invalid("no host");
  if (!port_text.empty()) {
    auto port = ParseInt(port_text, 1, 65535);
    if (!port) invalid("the port must be a number from 1 to 65535");
    address.port = *port;
  }
  if (!path.empty()) {
    auto db = ParseInt(path, 0, 1 << 20);
    if (!db) invalid("the database after '/' must be a non-negative number");
    address.db = *db;
  }
  return address;
}

}  // namespace playground::redis

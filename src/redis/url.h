// Parsing and redaction of REDIS_URL values (redis://[[user]:password@]host[:port][/db]).
//
// Kept apart from the client so that settings validation and /health can parse and print a URL
// without connecting, and so that every message that names a Redis server uses the same
// password-free form.
#pragma once

#include <string>
#include <string_view>

namespace playground::redis {

// Where and as whom to connect. Thread-compatible value type.
struct RedisAddress {
  std::string host;  // a name or an IP address; IPv6 without the brackets
  int port = 6379;
  std::string user;      // empty: the default user (AUTH with the password alone)
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed on connect when not 0
};

// Parses redis://[[user]:password@]host[:port][/db]; user and password may be percent-encoded.
// Throws core::Error(kValidation) for a malformed URL, for rediss:// (TLS needs hiredis_ssl,
// a separate library this build does not link), and for any other scheme. Messages carry the
// redacted URL only.
RedisAddress ParseRedisUrl(std::string_view url);

// The URL with the password (or a lone userinfo, which might be one) replaced by "***".
std::string RedactRedisUrl(std::string_view url);

}  // namespace playground::redis

// A synchronous Redis client (hiredis underneath) shared by the modules that need Redis: rate
// limits, the job queue on Redis Streams, caches. It owns a lazily filled pool of connections and
// is the one place where hiredis errors become core::Error.
//
// Errors: a connection that cannot be opened or breaks (refused, I/O error, timeout) throws
// kUnavailable and the connection is discarded, so the next command reconnects; a rejected
// password or a server that is loading, busy or read-only is kUnavailable too (the dependency is
// unusable, not the caller wrong); any other error reply throws kInternal with Redis' text. No
// message ever contains the password.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "redis/url.h"

namespace playground::redis {

struct RedisOptions {
  std::string url;  // redis://[[user]:password@]host[:port][/db]
  int pool_size = 8;
  std::chrono::milliseconds connect_timeout{2000};
  // Bounds each command's send and receive, and the wait for a free pooled connection.
  std::chrono::milliseconds command_timeout{2000};
};

// One reply, deep-copied out of hiredis so that it outlives the connection. RESP2 only (the
// protocol hiredis 0.14 speaks): nil, integer, bulk string, status, error, array.
// Thread-compatible value type.
class Reply {
 public:
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Reply() = default;  // nil
  static Reply Integer(int64_t value);
  static Reply String(std::string value);
  static Reply Status(std::string value);
  static Reply Error(std::string message);
  static Reply Array(std::vector<Reply> elements);

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::kNil; }
  bool is_error() const { return type_ == Type::kError; }

  // Typed accessors; a reply of another type throws core::Error(kInternal), because it means
  // the code and the server disagree about a command.
  int64_t integer() const;
  // The bytes of a string, status or error reply.
  const std::string& str() const;
  const std::vector<Reply>& elements() const;

  // For logs and test failures: e.g. `["a", 1, nil]`. Strings are truncated.
  std::string DebugString() const;

 private:
  Type type_ = Type::kNil;
  int64_t integer_ = 0;
  std::string str_;
  std::vector<Reply> elements_;
};

std::string_view ReplyTypeName(Reply::Type type);

// What a command throws for an error reply, so that a caller can act on Redis' error code (e.g.
// BUSYGROUP when a stream's consumer group exists) without parsing what(). code() is
// ClassifyErrorReply(reply()). Thread-compatible (immutable).
class ServerError : public core::Error {
 public:
  ServerError(core::ErrorCode code, std::string reply, std::string_view command);
  // The error text as Redis sent it, e.g. "WRONGTYPE Operation against a key holding ...".
  const std::string& reply() const { return reply_; }
  // Its first word, e.g. "WRONGTYPE".
  std::string_view prefix() const;

 private:
  std::string reply_;
};

// kUnavailable for the error codes that mean the server cannot serve anyone now or rejects our
// credentials (LOADING, BUSY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN, READONLY, NOAUTH, WRONGPASS,
// OOM); kInternal for every other error reply.
core::ErrorCode ClassifyErrorReply(std::string_view reply);

struct RedisPoolStats {
  int size = 0;    // connections the pool may hold
  int in_use = 0;  // connections lent to a command now
  int idle = 0;    // open connections waiting
};

// Safe for concurrent use: each command borrows a pooled connection for its duration; at most
// `pool_size` commands run at once and the others wait up to the command timeout.
class RedisClient {
 public:
  // Validates the URL (core::Error(kValidation), e.g. for rediss://) but does not connect: the
  // first command does, so a process can start while Redis is still coming up.
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command; every argument is sent as a binary-safe bulk string. A top-level error
  // reply throws (see the header comment); errors nested in an array (EXEC) are returned as
  // Reply::Type::kError elements.
  Reply Command(const std::vector<std::string>& argv);

  // Runs a Lua script with EVALSHA, falling back to EVAL (which also loads it) when the server
  // does not know it yet (NOSCRIPT: first use, or after a restart or SCRIPT FLUSH). The SHA1 of
  // each script text is computed once per client.
  Reply Eval(std::string_view script, const std::vector<std::string>& keys, const std::vector<std::string>& args);

  // True when PING is answered within the timeouts; never throws.
  bool Ping();

  RedisPoolStats Stats() const;
  // The URL with the password replaced by "***", for logs and /health.
  const std::string& redacted_url() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace playground::redis

// The HTTP request and response as handlers see them, independent of the network library.
//
// Handlers take a Request and return a Response. A route may ask for its body as a stream
// (BodyReader, for uploads far larger than memory) and a response may be streamed (StreamWriter,
// for server-sent events), so neither side ever has to hold a whole large message.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace playground::http {

struct Route;

// Header fields with case-insensitive names. Thread-compatible.
class Headers {
 public:
  // The first value of `name`, if present.
  std::optional<std::string_view> Get(std::string_view name) const;
  // Replaces every value of `name` with `value`.
  void Set(std::string_view name, std::string value);
  // Adds a value, keeping earlier ones (e.g. Vary, Set-Cookie).
  void Add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Pulls a streamed request body from the connection. Used by the one handler thread that owns
// the request (thread-compatible); the network I/O itself stays on the server's I/O threads.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to `n` bytes into `buf`; returns 0 at the end of the body. Throws core::Error:
  // kPayloadTooLarge past the route's limit, kInvalidArgument when the client stopped sending
  // (disconnect or read timeout).
  virtual size_t Read(char* buf, size_t n) = 0;
  // Bytes read so far.
  virtual int64_t BytesRead() const = 0;
};

// Sends a streamed (chunked) response, e.g. server-sent events. Safe for concurrent use: it may
// be kept after the handler returns and written from any thread.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues `data` for sending; false once the stream is closed (client gone, server draining,
  // or the client too slow to keep the queue under its limit).
  virtual bool Write(std::string data) = 0;
  // Like Write, but first waits while the unsent backlog is large, so that a producer faster
  // than the client (a large download) is slowed to the client's pace instead of being cut.
  // Call from a handler thread, never an I/O thread. False once the stream is closed, or when
  // the client has read nothing for the server's write timeout.
  virtual bool WriteWait(std::string data) = 0;
  // Ends the response. Idempotent.
  virtual void Close() = 0;
  virtual bool IsOpen() const = 0;
  // Called once when the stream closes for any reason, on an I/O thread: must not block.
  virtual void OnClose(std::function<void()> callback) = 0;
};

// Who is calling: set by the authentication middleware; empty for anonymous requests.
struct Caller {
  std::string user_id;
  std::string email;
  std::string role;        // admin | member | viewer
  std::string session_id;  // when signed in with an access token
  std::string api_key_id;  // when authenticated by an API key
  std::string key_scope;   // that key's scope: predict | read | full
  bool authenticated() const { return !user_id.empty(); }
  bool admin() const { return role == "admin"; }
};

struct Request {
  std::string method;                             // upper case, e.g. "GET"
  std::string target;                             // as sent: path and query
  std::string path;                               // percent-decoded, without the query
  std::multimap<std::string, std::string> query;  // percent-decoded
  Headers headers;
  std::string body;                   // the whole body, unless the route streams it
  BodyReader* body_reader = nullptr;  // set instead of `body` for streaming routes
  std::map<std::string, std::string> path_params;
  const Route* route = nullptr;  // null when no route matched
  std::string request_id;
  std::string remote_address;
  Caller caller;
  std::chrono::steady_clock::time_point start;  // when the request's header was complete

  // A path parameter declared in the route's pattern (e.g. "id" for /jobs/{id}).
  const std::string& Param(const std::string& name) const;
  std::optional<std::string> Query(const std::string& name) const;
  // The body parsed as JSON; throws core::Error(kInvalidArgument) saying where it is malformed.
  nlohmann::json JsonBody() const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, the response is streamed: the server sends the status and headers with chunked
  // transfer encoding and hands this callback a writer (on a handler thread).
  std::function<void(std::shared_ptr<StreamWriter>)> stream;

  static Response Json(int status, const nlohmann::json& body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response Empty(int status);
};

}  // namespace playground::http

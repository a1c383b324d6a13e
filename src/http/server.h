// The HTTP/1.1 server (Boost.Beast on Asio): accepts connections, reads requests within the
// configured limits and timeouts, runs the middleware chain and the matched route's handler,
// and writes responses, with keep-alive, streamed bodies in both directions and a graceful stop.
//
// Threads: a fixed pool of I/O threads does all network work and runs only non-blocking
// ("inline") handlers; every other handler runs on a separate handler pool, so a slow query or
// disk write never stalls the network.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/middleware.h"
#include "http/router.h"

namespace playground::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;  // 0: any free port (see Server::port())
  int io_threads = 2;
  int handler_threads = 8;
  int64_t max_header_bytes = 16 * 1024;
  int64_t max_body_bytes = 1024 * 1024;
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds shutdown_grace{30};
  size_t max_stream_queue_bytes = 1 << 20;  // a streamed response's unsent backlog before it is cut
  bool handle_signals = true;               // SIGTERM/SIGINT start a graceful shutdown
};

// Start() and Run() are called once, from one thread; RequestShutdown() is safe from any thread
// (and from signal handling).
class Server {
 public:
  Server(ServerOptions options, const Router& router, std::vector<Middleware> middleware);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the I/O and handler threads. Throws core::Error(kUnavailable) when the
  // address cannot be bound.
  void Start();
  // The bound port (the real one when options.port was 0). Valid after Start().
  uint16_t port() const;
  // Blocks until a shutdown is requested, then stops accepting, lets in-flight requests finish
  // (closing idle keep-alive connections and streams at once) for up to shutdown_grace, and
  // stops every thread. Returns true if everything drained within the grace period.
  bool Run();
  // Asks Run() to shut down. A second request while draining stops at once.
  void RequestShutdown();
  // Requests being handled now (header received, response not yet written).
  int InFlight() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace playground::http

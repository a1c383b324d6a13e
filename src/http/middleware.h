// The middleware chain: functions that wrap every request on its way to the handler.
//
// The server composes them in the order given (the first is outermost). The standard chain,
// in order, is: request id, access log, metrics, security headers, CORS, problem mapping; later
// modules (authentication, rate limits) insert theirs before the handler.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http/message.h"
#include "http/router.h"

namespace playground::http {

using Next = std::function<Response(Request&)>;
using Middleware = std::function<Response(Request&, const Next&)>;

// Wraps `inner` in `chain` (chain[0] outermost).
Next Compose(const std::vector<Middleware>& chain, Next inner);

// Takes X-Request-ID from the client when it is a sane token (1-128 of [A-Za-z0-9._-]),
// otherwise makes one; sets it on the request and echoes it on the response.
Middleware RequestIdMiddleware();

// One JSON line per request on stdout: method, path, route, status, duration, sizes, request id.
// Never headers or bodies (they may hold credentials).
Middleware AccessLogMiddleware();

// http_requests_total{method,route,status}, http_request_duration_seconds{method,route} and
// http_requests_in_flight. Unmatched paths count under route="unmatched" to bound cardinality.
Middleware MetricsMiddleware();

struct SecurityHeaderOptions {
  // Content-Security-Policy for every response; strict, suitable for the UI and /docs (which
  // load scripts and styles only from this origin).
  std::string content_security_policy =
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
      "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
      "form-action 'self'";
  // Strict-Transport-Security is sent when the request came over TLS, i.e. a trusted proxy in
  // front set X-Forwarded-Proto: https.
  std::string hsts = "max-age=31536000; includeSubDomains";
};
Middleware SecurityHeadersMiddleware(SecurityHeaderOptions options = {});

// CORS for the listed origins ("*" allows any origin, without credentials). Answers preflight
// OPTIONS requests itself with 204.
Middleware CorsMiddleware(std::vector<std::string> allowed_origins);

// Turns exceptions into problem responses (core::Error by its code; anything else as a 500
// whose detail hides internals unless `debug`), and adds instance and request_id to every
// problem body.
Middleware ProblemMiddleware(bool debug);

}  // namespace playground::http

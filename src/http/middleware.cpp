#include "http/middleware.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/random.h"
#include "http/problem.h"

namespace playground::http {

Next Compose(const std::vector<Middleware>& chain, Next inner) {
  Next next = std::move(inner);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    next = [mw = *it, next = std::move(next)](Request& req) { return mw(req, next); };
  }
  return next;
}

Middleware RequestIdMiddleware() {
  return [](Request& req, const Next& next) {
    auto given = req.headers.Get("X-Request-ID");
    bool sane =
        given && !given->empty() && given->size() <= 128 && std::all_of(given->begin(), given->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        });
    req.request_id = sane ? std::string(*given) : core::FastRandomHex128();
    Response res = next(req);
    res.headers.Set("X-Request-ID", req.request_id);
    return res;
  };
}

Middleware AccessLogMiddleware() {
  return [](Request& req, const Next& next) {
    Response res = next(req);
    if (!core::LogEnabled(core::LogLevel::kInfo)) return res;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - req.start).count();
    nlohmann::json line = {
        {"ts", core::NowRfc3339()},
        {"level", "info"},
        {"msg", "request"},
        {"request_id", req.request_id},
        {"method", req.method},
        {"path", req.path},
        {"route", req.route ? req.route->pattern : ""},
        {"status", res.status},
        {"duration_ms", std::round(ms * 1000) / 1000},
        {"bytes_in", req.body_reader ? req.body_reader->BytesRead() : static_cast<int64_t>(req.body.size())},
        {"bytes_out", res.stream ? -1 : static_cast<int64_t>(res.body.size())},
        {"remote", req.remote_address}};
    core::LogRaw(core::LogLevel::kInfo, line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return res;
  };
}

namespace {

struct HttpMetrics {
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Gauge& in_flight;

  static HttpMetrics& Get() {
    static HttpMetrics* m = [] {
      auto& reg = core::Metrics::Global().registry();
      return new HttpMetrics{
          prometheus::BuildCounter()
              .Name("http_requests_total")
              .Help("HTTP requests by method, route template and status.")
              .Register(reg),
          prometheus::BuildHistogram()
              .Name("http_request_duration_seconds")
              .Help("Time from a request's complete header to its response, by method and route template.")
              .Register(reg),
          prometheus::BuildGauge()
              .Name("http_requests_in_flight")
              .Help("Requests being handled now.")
              .Register(reg)
              .Add({})};
    }();
    return *m;
  }
};

// Per-thread cache of the metric children of each (route, method, status), so that the hot
// path does no label-map building or registry locking after the first request of a kind.
struct MetricKey {
  const Route* route;
  std::string method;
  int status;
  bool operator==(const MetricKey&) const = default;
};
struct MetricKeyHash {
  size_t operator()(const MetricKey& k) const {
    return std::hash<const void*>()(k.route) ^ (std::hash<std::string>()(k.method) * 31) ^ (k.status * 1000003);
  }
};

}  // namespace

Middleware MetricsMiddleware() {
  HttpMetrics::Get();  // register the families at start-up, so /metrics lists them at once
  return [](Request& req, const Next& next) {
    HttpMetrics& m = HttpMetrics::Get();
    m.in_flight.Increment();
    Response res = next(req);
    m.in_flight.Decrement();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - req.start).count();

    thread_local std::unordered_map<MetricKey, std::pair<prometheus::Counter*, prometheus::Histogram*>, MetricKeyHash>
        cache;
    MetricKey key{req.route, req.route ? req.route->method : std::string(req.method), res.status};
    auto it = cache.find(key);
    if (it == cache.end()) {
      std::string route = req.route ? req.route->pattern : "unmatched";
      auto& counter =
          m.requests.Add({{"method", key.method}, {"route", route}, {"status", std::to_string(res.status)}});
      auto& hist = m.duration.Add({{"method", key.method}, {"route", route}}, core::Metrics::LatencyBuckets());
      it = cache.emplace(std::move(key), std::make_pair(&counter, &hist)).first;
    }
    it->second.first->Increment();
    it->second.second->Observe(seconds);
    return res;
  };
}

Middleware SecurityHeadersMiddleware(SecurityHeaderOptions options) {
  return [options = std::move(options)](Request& req, const Next& next) {
    Response res = next(req);
    res.headers.Set("X-Content-Type-Options", "nosniff");
    res.headers.Set("X-Frame-Options", "DENY");
    res.headers.Set("Referrer-Policy", "strict-origin-when-cross-origin");
    if (!res.headers.Has("Content-Security-Policy")) {
      res.headers.Set("Content-Security-Policy", options.content_security_policy);
    }
    auto proto = req.headers.Get("X-Forwarded-Proto");
    if (proto && *proto == "https") res.headers.Set("Strict-Transport-Security", options.hsts);
    return res;
  };
}

Middleware CorsMiddleware(std::vector<std::string> allowed_origins) {
  bool any = std::find(allowed_origins.begin(), allowed_origins.end(), "*") != allowed_origins.end();
  return [allowed = std::move(allowed_origins), any](Request& req, const Next& next) {
    auto origin = req.headers.Get("Origin");
    bool allowed_origin = origin && (any || std::find(allowed.begin(), allowed.end(), *origin) != allowed.end());
    auto decorate = [&](Response& res) {
      if (!allowed_origin) return;
      res.headers.Set("Access-Control-Allow-Origin", any ? "*" : std::string(*origin));
      if (!any) res.headers.Set("Access-Control-Allow-Credentials", "true");
      res.headers.Add("Vary", "Origin");
      res.headers.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After, Location");
    };
    if (req.method == "OPTIONS" && req.headers.Has("Access-Control-Request-Method")) {
      Response res = Response::Empty(204);
      if (allowed_origin) {
        decorate(res);
        res.headers.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        res.headers.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID, X-API-Key");
        res.headers.Set("Access-Control-Max-Age", "600");
      }
      return res;
    }
    Response res = next(req);
    decorate(res);
    return res;
  };
}

Middleware ProblemMiddleware(bool debug) {
  return [debug](Request& req, const Next& next) {
    Response res;
    try {
      res = next(req);
    } catch (const core::Error& e) {
      res = ProblemFromError(e);
      if (e.code() == core::ErrorCode::kInternal) {
        core::LogError("request failed", {{"request_id", req.request_id}, {"error", e.what()}});
      }
    } catch (const std::exception& e) {
      core::LogError("request failed", {{"request_id", req.request_id}, {"error", e.what()}});
      res = Problem(
          500, "internal", StatusTitle(500),
          debug ? std::string(e.what()) : "an unexpected error occurred; quote the request id when reporting it");
    }
    auto type = res.headers.Get("Content-Type");
    if (type && *type == "application/problem+json") {
      auto body = nlohmann::json::parse(res.body, nullptr, false);
      if (body.is_object()) {
        body["instance"] = req.path;
        body["request_id"] = req.request_id;
        res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
    return res;
  };
}

}  // namespace playground::http

// /health, /ready, /metrics, /openapi.json and /docs (Swagger UI embedded from the npm package
// swagger-ui-dist).
#include <mutex>

#include "api/api.h"
#include "core/embedded.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/version.h"
#include "http/openapi.h"
#include "http/static_site.h"

namespace playground::api::docs_assets {
std::span<const playground::core::EmbeddedFile> EmbeddedFiles();
}  // namespace playground::api::docs_assets

namespace playground::api {
namespace {

const char* StateText(HealthMonitor::State s, const char* up, const char* down) {
  switch (s) {
    case HealthMonitor::State::kUp: return up;
    case HealthMonitor::State::kDown: return down;
    case HealthMonitor::State::kUnknown: return "unknown";
  }
  return "unknown";
}

nlohmann::json HealthSchema() {
  return {{"type", "object"},
          {"required", {"status", "version", "database", "redis", "uptime"}},
          {"properties",
           {{"status", {{"type", "string"}, {"enum", {"healthy", "degraded"}}}},
            {"version", {{"type", "string"}}},
            {"database", {{"type", "string"}, {"enum", {"connected", "disconnected", "unknown"}}}},
            {"redis", {{"type", "string"}, {"enum", {"connected", "disconnected", "not configured", "unknown"}}}},
            {"uptime", {{"type", "integer"}, {"description", "Seconds since the process started"}}}}}};
}

const char kDocsPage[] = R"(<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>AI Playground API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
)";

// Kept out of the page so that the Content-Security-Policy can forbid inline scripts.
const char kDocsInit[] = R"(window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
});
)";

}  // namespace

void AddSystemRoutes(http::Router& router, ApiContext& ctx) {
  router
      .Get("/health",
           [&ctx](http::Request&) {
             auto snap = ctx.health.Snapshot();
             auto db = snap.count("database") ? snap["database"] : HealthMonitor::State::kUnknown;
             const char* redis = "not configured";
             if (snap.count("redis")) redis = StateText(snap["redis"], "connected", "disconnected");
             bool healthy = ctx.health.Ready();
             nlohmann::json body = {{"status", healthy ? "healthy" : "degraded"},
                                    {"version", core::kVersion},
                                    {"database", StateText(db, "connected", "disconnected")},
                                    {"redis", redis},
                                    {"uptime", static_cast<int64_t>(core::UptimeSeconds())}};
             auto res = http::Response::Json(200, body);
             res.headers.Set("Cache-Control", "no-store");
             return res;
           })
      .Inline()
      .Allow(http::Access::kPublic)
      .Tag("system")
      .Summary("Liveness and dependency status",
               "Always 200 while the process runs; `status` is `degraded` when a required dependency is down. "
               "Dependencies are probed in the background every 2 seconds.")
      .Returns(200, "Health report", HealthSchema());

  router
      .Get("/ready",
           [&ctx](http::Request&) {
             bool ready = ctx.health.Ready();
             auto res = http::Response::Json(ready ? 200 : 503, {{"ready", ready}});
             res.headers.Set("Cache-Control", "no-store");
             return res;
           })
      .Inline()
      .Allow(http::Access::kPublic)
      .Tag("system")
      .Summary("Readiness", "200 once the database answers; 503 (with ready=false) until then.")
      .Returns(200, "Ready", {{"type", "object"}, {"properties", {{"ready", {{"type", "boolean"}}}}}})
      .Returns(503, "Not ready yet", {{"type", "object"}, {"properties", {{"ready", {{"type", "boolean"}}}}}});

  router
      .Get("/metrics",
           [](http::Request&) {
             return http::Response::Text(200, core::Metrics::Global().Serialize(),
                                         "text/plain; version=0.0.4; charset=utf-8");
           })
      .Allow(http::Access::kPublic)  // scraped without credentials; restrict it at the proxy
      .Tag("system")
      .Summary("Prometheus metrics", "Prometheus text exposition format 0.0.4.")
      .Returns(200, "Metrics", {{"type", "string"}}, "text/plain");

  const http::Router* routes = &router;
  router
      .Get("/openapi.json",
           [routes](http::Request&) {
             // The route table is fixed once the server runs, so the document is built once.
             static std::once_flag once;
             static std::string doc;
             std::call_once(once, [routes] {
               http::OpenApiInfo info{
                   "AI Playground",
                   core::kVersion,
                   "Self-hosted machine-learning platform: datasets, training, evaluation, "
                   "predictions and jobs over a REST API.",
                   {{"securitySchemes",
                     {{"bearerAuth",
                       {{"type", "http"},
                        {"scheme", "bearer"},
                        {"bearerFormat", "JWT access token, or an API key (pgk_...)"}}},
                      {"apiKeyHeader", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-API-Key"}}}}}}};
               doc = http::BuildOpenApi(*routes, info).dump(2);
             });
             return http::Response::Text(200, doc, "application/json");
           })
      .Allow(http::Access::kPublic)
      .Tag("system")
      .Summary("OpenAPI 3.1 description of this API", "Generated from the server's route table.")
      .Returns(200, "OpenAPI document", {{"type", "object"}});

  router
      .Get("/docs",
           [](http::Request&) {
             auto res = http::Response::Text(200, kDocsPage, "text/html; charset=utf-8");
             res.headers.Set("Cache-Control", "no-cache");
             return res;
           })
      .Inline()
      .Allow(http::Access::kPublic)
      .Tag("system")
      .Summary("Interactive API documentation (Swagger UI)")
      .Returns(200, "HTML page", {{"type", "string"}}, "text/html");

  router
      .Get("/docs/{file}",
           [](http::Request& req) {
             const std::string& name = req.Param("file");
             if (name == "init.js") return http::Response::Text(200, kDocsInit, http::ContentTypeFor(name));
             const core::EmbeddedFile* f = core::FindEmbedded(docs_assets::EmbeddedFiles(), name);
             if (f == nullptr) core::Fail(core::ErrorCode::kNotFound, "no documentation asset called " + name);
             auto res = http::Response::Text(200, std::string(f->data), http::ContentTypeFor(name));
             res.headers.Set("Cache-Control", "public, max-age=86400");
             return res;
           })
      .Inline()
      .Allow(http::Access::kPublic)
      .Hidden();
}

}  // namespace playground::api

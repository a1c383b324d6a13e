#include "api/api.h"

namespace playground::api {

void AddRoutes(http::Router& router, ApiContext& ctx) { AddSystemRoutes(router, ctx); }

std::vector<http::Middleware> StandardMiddleware(const core::Settings& settings) {
  return {http::RequestIdMiddleware(),
          http::AccessLogMiddleware(),
          http::MetricsMiddleware(),
          http::SecurityHeadersMiddleware(),
          http::CorsMiddleware(settings.cors_origins),
          http::ProblemMiddleware(settings.debug)};
}

}  // namespace playground::api

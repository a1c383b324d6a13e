#include "api/api.h"

namespace playground::api {

void AddRoutes(http::Router& router, ApiContext& ctx) {
  AddSystemRoutes(router, ctx);
  AddAuthRoutes(router, ctx);
  AddJobsRoutes(router, ctx);
  AddDatasetRoutes(router, ctx);
  AddModelRoutes(router, ctx);
  CheckPolicies(router);
}

std::vector<http::Middleware> StandardMiddleware(ApiContext& ctx) {
  return {http::RequestIdMiddleware(),
          http::AccessLogMiddleware(),
          http::MetricsMiddleware(),
          http::SecurityHeadersMiddleware(),
          http::CorsMiddleware(ctx.settings.cors_origins),
          http::ProblemMiddleware(ctx.settings.debug),
          AuthMiddleware(ctx),
          RateLimitMiddleware(ctx)};
}

}  // namespace playground::api

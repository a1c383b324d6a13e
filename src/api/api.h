// The REST API: every endpoint of the platform registered on one Router, with the middleware
// chain every request passes through. Route groups live in their own files (system_routes.cpp
// for health, metrics and documentation; later ones for accounts, datasets, jobs, models).
#pragma once

#include <vector>

#include "api/health.h"
#include "core/settings.h"
#include "http/middleware.h"
#include "http/router.h"
#include "store/store.h"

namespace playground::api {

// What handlers need from the running process. Outlives the server.
struct ApiContext {
  const core::Settings& settings;
  store::Store& store;
  HealthMonitor& health;
};

// Registers every endpoint. Call once, before the server starts.
void AddRoutes(http::Router& router, ApiContext& ctx);

// The standard chain: request id, access log, metrics, security headers, CORS, problems.
std::vector<http::Middleware> StandardMiddleware(const core::Settings& settings);

// Route groups (one per file).
void AddSystemRoutes(http::Router& router, ApiContext& ctx);

}  // namespace playground::api

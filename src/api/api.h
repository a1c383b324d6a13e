// The REST API: every endpoint of the platform registered on one Router, with the middleware
// chain every request passes through. Route groups live in their own files (system_routes.cpp
// for health, metrics and documentation; auth_routes.cpp for accounts; dataset_routes.cpp for
// datasets; job_routes.cpp for jobs and schedules; model_routes.cpp for preprocessing, training,
// models and predictions).
#pragma once

#include <vector>

#include "api/health.h"
#include "auth/accounts.h"
#include "auth/audit.h"
#include "auth/shares.h"
#include "cache/cache.h"
#include "core/settings.h"
#include "datasets/catalog.h"
#include "http/middleware.h"
#include "http/router.h"
#include "jobs/queue.h"
#include "jobs/scheduler.h"
#include "jobs/watcher.h"
#include "limits/login_backoff.h"
#include "limits/rate_limiter.h"
#include "models/registry.h"
#include "store/store.h"

namespace playground::api {

// What handlers need from the running process. Outlives the server.
struct ApiContext {
  const core::Settings& settings;
  store::Store& store;
  HealthMonitor& health;
  auth::Accounts& accounts;
  auth::AuditLog& audit;
  limits::RateLimiter& rate_limiter;
  limits::LoginBackoff& login_backoff;
  auth::Shares& shares;
  datasets::DatasetCatalog& datasets;
  jobs::JobQueue& jobs;
  jobs::Scheduler& scheduler;
  jobs::JobWatcher& job_watcher;  // live job updates for server-sent events
  models::ModelRegistry& models;
  cache::Cache* prediction_cache;  // null: predictions are not cached
};

// Registers every endpoint. Call once, before the server starts.
void AddRoutes(http::Router& router, ApiContext& ctx);

// The standard chain: request id, access log, metrics, security headers, CORS, problems, then
// authentication and the route's access policy, then rate limits.
std::vector<http::Middleware> StandardMiddleware(ApiContext& ctx);

// Throws core::Error(kInternal) naming every route that declares no access policy; called
// before the server starts, so no endpoint is public by accident.
void CheckPolicies(const http::Router& router);

// Authenticates the request's credentials (Authorization: Bearer <access token or API key>,
// or X-API-Key) and enforces the matched route's access policy and API key scopes.
http::Middleware AuthMiddleware(ApiContext& ctx);
// Token buckets per client address and per account, in the route's rate zone; 429 with
// Retry-After.
http::Middleware RateLimitMiddleware(ApiContext& ctx);

// Owned resources: members see and change their own, admins all; anyone else gets 404 (not
// 403) so that a resource's existence does not leak.
void RequireOwnerOrAdmin(const http::Caller& caller, const std::string& owner_id, std::string_view what,
                         const std::string& id);

// Readable resources: the owner, admins, and the accounts it is shared with (read-only) pass;
// anyone else gets 404.
void RequireReadable(const ApiContext& ctx, const http::Caller& caller, const std::string& owner_id,
                     std::string_view type, const std::string& id);

auth::RequestInfo InfoOf(const http::Request& req);

// Route groups (one per file).
void AddSystemRoutes(http::Router& router, ApiContext& ctx);
void AddAuthRoutes(http::Router& router, ApiContext& ctx);
void AddJobsRoutes(http::Router& router, ApiContext& ctx);
void AddDatasetRoutes(http::Router& router, ApiContext& ctx);
void AddModelRoutes(http::Router& router, ApiContext& ctx);

}  // namespace playground::api

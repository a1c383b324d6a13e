// Authentication, the per-route access policy, and request-rate limits.
#include <algorithm>
#include <string>
#include <vector>

#include "api/api.h"
#include "core/error.h"
#include "core/log.h"
#include "http/problem.h"

namespace playground::api {
namespace {

using core::ErrorCode;
using core::Fail;

// The credential of a request, if any: "Authorization: Bearer X" or "X-API-Key: X".
std::string CredentialOf(const http::Request& req) {
  if (auto key = req.headers.Get("X-API-Key")) return std::string(*key);
  if (auto auth = req.headers.Get("Authorization")) {
    std::string_view v = *auth;
    if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ")) return std::string(v.substr(7));
    Fail(ErrorCode::kUnauthenticated, "the Authorization header must be 'Bearer <token or API key>'");
  }
  return "";
}

bool RoleAllows(http::Access access, const std::string& role) {
  switch (access) {
    case http::Access::kPublic:
    case http::Access::kUser: return true;
    case http::Access::kMember: return role == auth::kRoleMember || role == auth::kRoleAdmin;
    case http::Access::kAdmin: return role == auth::kRoleAdmin;
    case http::Access::kUnset: return false;
  }
  return false;
}

}  // namespace

auth::RequestInfo InfoOf(const http::Request& req) { return {req.remote_address, req.request_id}; }

void CheckPolicies(const http::Router& router) {
  std::string missing;
  for (const auto& r : router.routes()) {
    if (r.access == http::Access::kUnset) missing += " " + r.method + " " + r.pattern;
  }
  if (!missing.empty()) Fail(ErrorCode::kInternal, "routes without an access policy:" + missing);
}

void RequireOwnerOrAdmin(const http::Caller& caller, const std::string& owner_id, std::string_view what,
                         const std::string& id) {
  if (caller.admin() || (!owner_id.empty() && caller.user_id == owner_id)) return;
  Fail(ErrorCode::kNotFound, "no " + std::string(what) + " " + id);
}

void RequireReadable(const ApiContext& ctx, const http::Caller& caller, const std::string& owner_id,
                     std::string_view type, const std::string& id) {
  if (caller.admin() || (!owner_id.empty() && caller.user_id == owner_id)) return;
  if (caller.authenticated() && ctx.shares.IsSharedWith(std::string(type), id, caller.user_id)) return;
  Fail(ErrorCode::kNotFound, "no " + std::string(type) + " " + id);
}

http::Middleware AuthMiddleware(ApiContext& ctx) {
  return [&ctx](http::Request& req, const http::Next& next) {
    const http::Route* route = req.route;
    if (route == nullptr) return next(req);  // 404/405 come next
    // Public routes never look at credentials: no public handler needs the caller, and the inline
    // ones (health, readiness, docs) run on I/O threads, where a database lookup must not happen.
    if (route->access == http::Access::kPublic) return next(req);
    try {
      std::string credential = CredentialOf(req);
      if (!credential.empty()) {
        auth::Principal p = ctx.accounts.Authenticate(credential);
        req.caller = http::Caller{p.user.id, p.user.email, p.user.role, p.session_id, p.api_key_id, p.key_scope};
      }
    } catch (const core::Error& e) {
      auto res = http::ProblemFromError(e);
      res.headers.Set("WWW-Authenticate", "Bearer");
      return res;
    }
    if (!req.caller.authenticated()) {
      auto res = http::Problem(401, "unauthenticated", http::StatusTitle(401),
                               "sign in and send 'Authorization: Bearer <access token>', or send an API key");
      res.headers.Set("WWW-Authenticate", "Bearer");
      return res;
    }
    auto deny = [&](const std::string& why) {
      ctx.audit.Record("permission_denied", req.caller.user_id, req.method + " " + route->pattern, InfoOf(req),
                       {{"reason", why}});
      return http::Problem(403, "permission-denied", http::StatusTitle(403), why);
    };
    if (!req.caller.api_key_id.empty() && req.caller.key_scope != "full" &&
        std::find(route->key_scopes.begin(), route->key_scopes.end(), req.caller.key_scope) ==
            route->key_scopes.end()) {
      return deny("an API key with scope '" + req.caller.key_scope + "' may not call this endpoint");
    }
    if (!RoleAllows(route->access, req.caller.role)) {
      return deny("this endpoint needs the " + std::string(http::AccessName(route->access)) + " role; you are " +
                  req.caller.role);
    }
    return next(req);
  };
}

http::Middleware RateLimitMiddleware(ApiContext& ctx) {
  auto zone_of = [&ctx](const std::string& name) {
    int rate = name == "auth"      ? ctx.settings.rate_limit_auth
               : name == "upload"  ? ctx.settings.rate_limit_upload
               : name == "predict" ? ctx.settings.rate_limit_predict
                                   : ctx.settings.rate_limit_api;
    return limits::Zone{name, static_cast<double>(rate), std::max(1, 2 * rate)};
  };
  return [&ctx, zone_of](http::Request& req, const http::Next& next) {
    const http::Route* route = req.route;
    if (route == nullptr || route->blocking == false) return next(req);  // probes and docs are not limited
    limits::Zone zone = zone_of(route->rate_zone);
    std::vector<std::string> keys{"ip:" + req.remote_address};
    if (req.caller.authenticated()) keys.push_back("user:" + req.caller.user_id);
    limits::Decision decision = ctx.rate_limiter.TakeEach(zone, keys);
    if (!decision.allowed) {
      auto seconds = std::max<int64_t>(1, (decision.retry_after.count() + 999) / 1000);
      auto res = http::Problem(
          429, "rate-limited", http::StatusTitle(429),
          "too many requests in the '" + zone.name + "' zone; retry in " + std::to_string(seconds) + " s");
      res.headers.Set("Retry-After", std::to_string(seconds));
      return res;
    }
    return next(req);
  };
}

}  // namespace playground::api

// Accounts: register, sign in, refresh, sign out, who am I; API keys; admin user management and
// the audit log.
#include "api/api.h"
#include "api/params.h"
#include "core/error.h"
#include "http/problem.h"

namespace playground::api {
namespace {

using core::ErrorCode;
using core::Fail;
using http::Access;
using nlohmann::json;

constexpr const char* kRefreshCookie = "playground_refresh";

json UserJson(const auth::User& u) {
  return {
      {"id", u.id}, {"email", u.email}, {"role", u.role}, {"disabled", u.disabled}, {"created_at_us", u.created_at_us}};
}

json KeyJson(const auth::ApiKey& k) {
  json j = {{"id", k.id},           {"user_id", k.user_id},      {"name", k.name},
            {"prefix", k.prefix},   {"scope", k.scope},          {"created_at_us", k.created_at_us},
            {"revoked", k.revoked}, {"last_used_at_us", nullptr}};
  if (k.last_used_at_us > 0) j["last_used_at_us"] = k.last_used_at_us;
  return j;
}

json UserSchema() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"email", {{"type", "string"}}},
            {"role", {{"type", "string"}, {"enum", {"admin", "member", "viewer"}}}},
            {"disabled", {{"type", "boolean"}}},
            {"created_at_us", {{"type", "integer"}}}}}};
}
json CredentialsSchema() {
  return {{"type", "object"},
          {"required", {"email", "password"}},
          {"properties", {{"email", {{"type", "string"}}}, {"password", {{"type", "string"}}}}}};
}
json TokensSchema() {
  return {{"type", "object"},
          {"properties",
           {{"access_token", {{"type", "string"}}},
            {"token_type", {{"type", "string"}}},
            {"expires_in", {{"type", "integer"}}},
            {"refresh_token", {{"type", "string"}}},
            {"refresh_expires_at_us", {{"type", "integer"}}},
            {"user", UserSchema()}}}};
}

// The refresh token travels in the body for programs and in an httpOnly cookie for the browser
// (scripts cannot read it, and SameSite=Strict keeps other sites from sending it).
http::Response TokensResponse(const ApiContext& ctx, const auth::Tokens& t) {
  auto res = http::Response::Json(200, {{"access_token", t.access_token},
                                        {"token_type", "bearer"},
                                        {"expires_in", t.expires_in},
                                        {"refresh_token", t.refresh_token},
                                        {"refresh_expires_at_us", t.refresh_expires_at_us},
                                        {"user", UserJson(t.user)}});
  std::string cookie =
      std::string(kRefreshCookie) + "=" + t.refresh_token + "; Path=" + ctx.settings.api_prefix +
      "/auth; HttpOnly; SameSite=Strict; Max-Age=" +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(ctx.settings.refresh_token_ttl).count());
  if (ctx.settings.production()) cookie += "; Secure";
  res.headers.Add("Set-Cookie", cookie);
  res.headers.Set("Cache-Control", "no-store");
  return res;
}

std::string CookieValue(const http::Request& req, std::string_view name) {
  auto header = req.headers.Get("Cookie");
  if (!header) return "";
  std::string_view v = *header;
  while (!v.empty()) {
    size_t semi = v.find(';');
    std::string_view pair = v.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    if (semi == std::string_view::npos) break;
    v.remove_prefix(semi + 1);
  }
  return "";
}

}  // namespace

void AddAuthRoutes(http::Router& router, ApiContext& ctx) {
  const std::string p = ctx.settings.api_prefix;

  router
      .Post(p + "/auth/register",
            [&ctx](http::Request& req) {
              json body = req.JsonBody();
              auth::User u = ctx.accounts.Register(Field(body, "email"), Field(body, "password"), "", InfoOf(req));
              return http::Response::Json(201, UserJson(u));
            })
      .Allow(Access::kPublic)
      .RateZone("auth")
      .Tag("auth")
      .Summary("Create an account", "The first account of an installation becomes admin; later ones are members.")
      .Body(CredentialsSchema())
      .Returns(201, "The new account", UserSchema());

  router
      .Post(p + "/auth/login",
            [&ctx](http::Request& req) {
              json body = req.JsonBody();
              std::string email = Field(body, "email");
              auto wait = ctx.login_backoff.Check(email);
              if (wait.count() > 0) {
                auto seconds = std::max<int64_t>(1, (wait.count() + 999) / 1000);
                ctx.audit.Record("login_throttled", "", email, InfoOf(req));
                auto res = http::Problem(
                    429, "rate-limited", http::StatusTitle(429),
                    "too many failed sign-ins for this account; retry in " + std::to_string(seconds) + " s");
                res.headers.Set("Retry-After", std::to_string(seconds));
                return res;
              }
              try {
                auth::Tokens t = ctx.accounts.Login(email, Field(body, "password"), InfoOf(req));
                ctx.login_backoff.RecordSuccess(email);
                return TokensResponse(ctx, t);
              } catch (const core::Error& e) {
                if (e.code() == ErrorCode::kUnauthenticated) ctx.login_backoff.RecordFailure(email);
                throw;
              }
            })
      .Allow(Access::kPublic)
      .RateZone("auth")
      .Tag("auth")
      .Summary("Sign in", "Returns an access token (JWT) and a refresh token (also set as an httpOnly cookie).")
      .Body(CredentialsSchema())
      .Returns(200, "Tokens", TokensSchema());

  router
      .Post(p + "/auth/refresh",
            [&ctx](http::Request& req) {
              std::string token;
              if (!req.body.empty()) token = OptField(req.JsonBody(), "refresh_token");
              if (token.empty()) token = CookieValue(req, kRefreshCookie);
              if (token.empty()) Fail(ErrorCode::kUnauthenticated, "send refresh_token in the body or the cookie");
              return TokensResponse(ctx, ctx.accounts.Refresh(token, InfoOf(req)));
            })
      .Allow(Access::kPublic)
      .RateZone("auth")
      .Tag("auth")
      .Summary("Exchange a refresh token for new tokens",
               "Each refresh token works once; presenting a used one ends its whole session.")
      .Body({{"type", "object"}, {"properties", {{"refresh_token", {{"type", "string"}}}}}})
      .Returns(200, "Tokens", TokensSchema());

  router
      .Post(p + "/auth/logout",
            [&ctx](http::Request& req) {
              if (req.caller.session_id.empty()) {
                Fail(ErrorCode::kInvalidArgument, "sign out with an access token; API keys are revoked instead");
              }
              ctx.accounts.Logout(req.caller.session_id, req.caller.user_id, InfoOf(req));
              auto res = http::Response::Empty(204);
              res.headers.Add("Set-Cookie", std::string(kRefreshCookie) + "=; Path=" + ctx.settings.api_prefix +
                                                "/auth; HttpOnly; SameSite=Strict; Max-Age=0");
              return res;
            })
      .Allow(Access::kUser)
      .Tag("auth")
      .Summary("Sign out", "Ends the session: its access and refresh tokens stop working at once.")
      .Returns(204, "Signed out");

  router
      .Get(p + "/auth/me",
           [](http::Request& req) {
             const auto& c = req.caller;
             json j = {{"id", c.user_id}, {"email", c.email}, {"role", c.role}};
             j["auth"] = c.api_key_id.empty()
                             ? json{{"type", "access_token"}}
                             : json{{"type", "api_key"}, {"key_id", c.api_key_id}, {"scope", c.key_scope}};
             return http::Response::Json(200, j);
           })
      .Allow(Access::kUser, {"read", "predict"})
      .Tag("auth")
      .Summary("The signed-in account")
      .Returns(200, "The caller", UserSchema());

  // API keys.
  router
      .Post(p + "/api-keys",
            [&ctx](http::Request& req) {
              json body = req.JsonBody();
              std::string scope = OptField(body, "scope");
              auto [key, secret] = ctx.accounts.CreateApiKey(req.caller.user_id, Field(body, "name", 100),
                                                             scope.empty() ? "predict" : scope, InfoOf(req));
              json j = KeyJson(key);
              j["key"] = secret;
              auto res = http::Response::Json(201, j);
              res.headers.Set("Cache-Control", "no-store");
              return res;
            })
      .Allow(Access::kMember)
      .Tag("api-keys")
      .Summary("Create an API key",
               "The key is in this response only; it is stored hashed. Scope: predict (default), "
               "read or full.")
      .Body(
          {{"type", "object"},
           {"required", {"name"}},
           {"properties",
            {{"name", {{"type", "string"}}}, {"scope", {{"type", "string"}, {"enum", {"predict", "read", "full"}}}}}}})
      .Returns(201, "The key, with its secret");

  router
      .Get(p + "/api-keys",
           [&ctx](http::Request& req) {
             json items = json::array();
             bool all = req.caller.admin() && req.Query("all").value_or("") == "true";
             for (const auto& k : ctx.accounts.ListApiKeys(all ? "" : req.caller.user_id)) items.push_back(KeyJson(k));
             return http::Response::Json(200, {{"items", items}});
           })
      .Allow(Access::kUser, {"read"})
      .Tag("api-keys")
      .Summary("List API keys", "Your keys; admins may pass all=true for everyone's.")
      .Query("all", "boolean", "Admins: list every user's keys")
      .Returns(200, "Keys (never their secrets)");

  router
      .Delete(p + "/api-keys/{id}",
              [&ctx](http::Request& req) {
                const std::string& id = req.Param("id");
                auto key = ctx.accounts.FindApiKey(id);
                RequireOwnerOrAdmin(req.caller, key ? key->user_id : "", "API key", id);
                ctx.accounts.RevokeApiKey(id, req.caller.user_id, InfoOf(req));
                return http::Response::Empty(204);
              })
      .Allow(Access::kMember)
      .Tag("api-keys")
      .Summary("Revoke an API key")
      .Returns(204, "Revoked");

  // Administration.
  router
      .Get(p + "/admin/users",
           [&ctx](http::Request&) {
             json items = json::array();
             for (const auto& u : ctx.accounts.ListUsers()) items.push_back(UserJson(u));
             return http::Response::Json(200, {{"items", items}});
           })
      .Allow(Access::kAdmin, {"read"})
      .Tag("admin")
      .Summary("List accounts")
      .Returns(200, "Accounts");

  router
      .Post(p + "/admin/users",
            [&ctx](http::Request& req) {
              json body = req.JsonBody();
              std::string role = OptField(body, "role");
              auto u = ctx.accounts.Register(Field(body, "email"), Field(body, "password"),
                                             role.empty() ? auth::kRoleMember : role, InfoOf(req));
              ctx.audit.Record("admin_user_created", req.caller.user_id, u.id, InfoOf(req), {{"role", u.role}});
              return http::Response::Json(201, UserJson(u));
            })
      .Allow(Access::kAdmin)
      .Tag("admin")
      .Summary("Create an account with a role")
      .Body({{"type", "object"},
             {"required", {"email", "password"}},
             {"properties",
              {{"email", {{"type", "string"}}}, {"password", {{"type", "string"}}}, {"role", {{"type", "string"}}}}}})
      .Returns(201, "The new account", UserSchema());

  router
      .Patch(p + "/admin/users/{id}",
             [&ctx](http::Request& req) {
               json body = req.JsonBody();
               const std::string& id = req.Param("id");
               if (!ctx.accounts.FindUser(id)) Fail(ErrorCode::kNotFound, "no user " + id);
               if (body.contains("role"))
                 ctx.accounts.SetRole(id, Field(body, "role"), req.caller.user_id, InfoOf(req));
               if (body.contains("disabled")) {
                 if (!body["disabled"].is_boolean()) Fail(ErrorCode::kValidation, "disabled: must be true or false");
                 ctx.accounts.SetDisabled(id, body["disabled"].get<bool>(), req.caller.user_id, InfoOf(req));
               }
               return http::Response::Json(200, UserJson(*ctx.accounts.FindUser(id)));
             })
      .Allow(Access::kAdmin)
      .Tag("admin")
      .Summary("Change an account's role or disable it", "Disabling ends the account's sessions at once.")
      .Body({{"type", "object"}, {"properties", {{"role", {{"type", "string"}}}, {"disabled", {{"type", "boolean"}}}}}})
      .Returns(200, "The account", UserSchema());

  router
      .Get(p + "/admin/audit",
           [&ctx](http::Request& req) {
             auto page = ctx.audit.List(PageLimit(req, 50, 500), req.Query("cursor").value_or(""),
                                        req.Query("action").value_or(""));
             json items = json::array();
             for (const auto& e : page.entries) {
               items.push_back({{"id", e.id},
                                {"at_us", e.at_us},
                                {"action", e.action},
                                {"actor_id", e.actor_id},
                                {"target", e.target},
                                {"ip", e.ip},
                                {"request_id", e.request_id},
                                {"detail", e.detail}});
             }
             json out = {{"items", items}, {"next_cursor", nullptr}};
             if (!page.next_cursor.empty()) out["next_cursor"] = page.next_cursor;
             return http::Response::Json(200, out);
           })
      .Allow(Access::kAdmin, {"read"})
      .Tag("admin")
      .Summary("The audit log, newest first")
      .Query("limit", "integer", "Entries per page, 1-500 (default 50)")
      .Query("cursor", "string", "next_cursor of the previous page")
      .Query("action", "string", "Only this action, e.g. login_failed")
      .Returns(200, "A page of entries");
}

}  // namespace playground::api

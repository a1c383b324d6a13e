// Accounts over HTTP: the authorization matrix built from the route table, the sign-in flow with
// the refresh cookie, rate limits (in memory, and shared through Redis by two processes), login
// backoff, and the same flow on PostgreSQL.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

#include "testkit/accounts.h"
#include "testkit/postgres_instance.h"
#include "testkit/process.h"
#include "testkit/redis_instance.h"

namespace playground::testkit {
namespace {

using nlohmann::json;
const std::string& kPassword = kTestPassword;

std::string NewKey(HttpClient& c, const std::string& token, const std::string& scope) {
  auto r = c.Post("/api/v1/api-keys", json{{"name", "k-" + scope}, {"scope", scope}}.dump(), "application/json",
                  {{"Authorization", Bearer(token)}});
  EXPECT_EQ(r.status, 201) << r.body;
  return r.Json()["key"];
}

struct Who {
  std::string name;
  std::map<std::string, std::string> headers;
  std::string role;    // "" for anonymous
  std::string scope;   // API key scope, "" for tokens
  bool owner = false;  // owns the owned resource under test
};

void CheckMatrix(Env env) {
  env.insert({{"RATE_LIMIT_API", "100000"},
              {"RATE_LIMIT_AUTH", "100000"},
              {"RATE_LIMIT_UPLOAD", "100000"},
              {"ARGON2_MEMORY_KIB", "8192"},
              {"ARGON2_ITERATIONS", "1"}});
  TestServer server(env);
  auto c = server.Client();
  std::string admin = SignUp(c, "admin@example.com");
  std::string owner = SignUp(c, "owner@example.com");
  std::string other = SignUp(c, "other@example.com");
  std::string viewer = SignUp(c, "viewer@example.com", admin, "viewer");
  std::vector<Who> callers = {
      {"anonymous", {}, "", "", false},
      {"viewer", {{"Authorization", Bearer(viewer)}}, "viewer", "", false},
      {"member owner", {{"Authorization", Bearer(owner)}}, "member", "", true},
      {"other member", {{"Authorization", Bearer(other)}}, "member", "", false},
      {"admin", {{"Authorization", Bearer(admin)}}, "admin", "", false},
  };
  for (const char* scope : {"predict", "read", "full"}) {
    callers.push_back({std::string("key:") + scope, {{"X-API-Key", NewKey(c, owner, scope)}}, "member", scope, true});
  }
  auto users = c.Get("/api/v1/admin/users", {{"Authorization", Bearer(admin)}}).Json()["items"];
  std::string viewer_id;
  for (const auto& u : users) {
    if (u["email"] == "viewer@example.com") viewer_id = u["id"];
  }

  // Models: a trained model of the owner's, and a finished batch prediction of it.
  auto owner_auth = std::map<std::string, std::string>{{"Authorization", Bearer(owner)}};
  auto wait_job = [&](const std::string& id) {
    for (int i = 0; i < 1500; ++i) {
      auto j = c.Get("/api/v1/jobs/" + id, owner_auth).Json();
      if (j["state"] != "queued" && j["state"] != "running") return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return json();
  };
  auto train_data = c.Post("/api/v1/datasets", "a,b\n1,x\n2,y\n3,x\n4,y\n5,x\n6,y\n", "text/csv", owner_auth);
  std::string train_data_id = train_data.Json()["id"];
  auto new_model = [&]() -> std::string {
    auto t = c.Post("/api/v1/models",
                    json{{"dataset_id", train_data_id}, {"target", "b"}, {"algorithm", "gaussian_nb"}}.dump(),
                    "application/json", owner_auth);
    EXPECT_EQ(t.status, 202) << t.body;
    json done = wait_job(t.Json()["id"]);
    EXPECT_EQ(done["state"], "succeeded") << done.dump();
    return done["result"]["model_id"];
  };
  std::string model_id = new_model();
  auto batch = c.Post("/api/v1/models/" + model_id + "/batch_predict", json{{"dataset_id", train_data_id}}.dump(),
                      "application/json", owner_auth);
  std::string batch_id = batch.Json()["id"];
  EXPECT_EQ(wait_job(batch_id)["state"], "succeeded");

  json doc = c.Get("/openapi.json").Json();
  int checked = 0;
  for (auto& [path, ops] : doc["paths"].items()) {
    for (auto& [method, op] : ops.items()) {
      std::string access = op.value("x-access", "");
      ASSERT_TRUE(access == "public" || access == "user" || access == "member" || access == "admin")
          << method << " " << path << " declares no access policy";
      std::set<std::string> scopes;
      for (const auto& s : op.value("x-api-key-scopes", json::array())) scopes.insert(s.get<std::string>());
      for (const auto& who : callers) {
        std::string target = path;
        bool owned = path.find("/api-keys/{id}") != std::string::npos;
        if (owned) {
          // A fresh key of the owner for each attempt, since a successful DELETE revokes it.
          auto k = c.Post("/api/v1/api-keys", json{{"name", "target"}}.dump(), "application/json",
                          {{"Authorization", Bearer(owner)}});
          target = std::regex_replace(target, std::regex(R"(\{id\})"), k.Json()["id"].get<std::string>());
        }
        // Jobs and schedules: a fresh one of the admin's for each attempt (a DELETE removes it).
        bool admin_owned =
            path.find("/jobs/{id}") != std::string::npos || path.find("/schedules/{id}") != std::string::npos;
        if (admin_owned) {
          auto admin_auth = std::map<std::string, std::string>{{"Authorization", Bearer(admin)}};
          auto made = path.find("/jobs/") != std::string::npos
                          ? c.Post("/api/v1/jobs", json{{"type", "noop"}}.dump(), "application/json", admin_auth)
                          : c.Post("/api/v1/schedules",
                                   json{{"name", "m"}, {"cron", "0 0 1 1 *"}, {"job", {{"type", "noop"}}}}.dump(),
                                   "application/json", admin_auth);
          ASSERT_EQ(made.status, 201) << made.body;
          target = std::regex_replace(target, std::regex(R"(\{id\})"), made.Json()["id"].get<std::string>());
        }
        // Datasets: a fresh one of the owner's for each attempt (DELETE removes it), shared
        // read-only with the viewer, so that the viewer's reads pass and everyone else's 404.
        bool dataset = path.rfind("/api/v1/datasets/{id}", 0) == 0;
        if (dataset) {
          owned = true;
          auto d = c.Post("/api/v1/datasets", "a,b\n1,x\n2,y\n", "text/csv", {{"Authorization", Bearer(owner)}});
          ASSERT_EQ(d.status, 201) << d.body;
          std::string id = d.Json()["id"];
          auto s = c.Post("/api/v1/datasets/" + id + "/shares", json{{"email", "viewer@example.com"}}.dump(),
                          "application/json", {{"Authorization", Bearer(owner)}});
          ASSERT_EQ(s.status, 201) << s.body;
          target = std::regex_replace(target, std::regex(R"(\{id\})"), id);
        }
        // Models: the owner's; a fresh one for each DELETE. Saved pipelines: a fresh one each time.
        if (path.rfind("/api/v1/models/{id}", 0) == 0) {
          owned = true;
          std::string id = method == "delete" ? new_model() : model_id;
          target = std::regex_replace(target, std::regex(R"(\{id\})"), id);
        }
        if (path.rfind("/api/v1/preprocessings/{id}", 0) == 0) {
          owned = true;
          auto made = c.Post("/api/v1/preprocessings", json{{"name", "p"}}.dump(), "application/json", owner_auth);
          target = std::regex_replace(target, std::regex(R"(\{id\})"), made.Json()["id"].get<std::string>());
        }
        if (path.rfind("/api/v1/batch_predictions/{job_id}", 0) == 0) {
          owned = true;
          target = std::regex_replace(target, std::regex(R"(\{job_id\})"), batch_id);
        }
        target = std::regex_replace(target, std::regex(R"(\{user_id\})"), viewer_id);
        target = std::regex_replace(target, std::regex(R"(\{id\})"), viewer_id);
        std::string upper = method;
        for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        auto h = who.headers;
        std::string body = (upper == "POST" || upper == "PATCH" || upper == "PUT") ? "{}" : "";
        if (!body.empty()) h["Content-Type"] = "application/json";
        if (path == "/api/v1/auth/logout") continue;  // would end the caller's session; tested below
        // An event stream ends its connection; it gets one of its own.
        std::unique_ptr<HttpClient> own;
        if (path.ends_with("/events")) own = std::make_unique<HttpClient>("127.0.0.1", server.port());
        auto r = (own ? *own : c).Request(upper, target, body, h);
        std::string where = upper + " " + path + " as " + who.name + ": " + std::to_string(r.status) + " " + r.body;

        bool role_ok = access == "public" || access == "user" ||
                       (access == "member" && (who.role == "member" || who.role == "admin")) ||
                       (access == "admin" && who.role == "admin");
        bool scope_ok = who.scope.empty() || who.scope == "full" || scopes.count(who.scope) > 0;
        if (access == "public") {
          // The endpoint may refuse bad credentials of its own (sign-in, refresh), but the
          // policy layer never stands in the way.
          EXPECT_NE(r.status, 403) << where;
          if (r.status == 401) {
            EXPECT_EQ(r.body.find("sign in and send"), std::string::npos) << where;
          }
        } else if (who.role.empty()) {
          EXPECT_EQ(r.status, 401) << where;
          EXPECT_NE(r.Header("WWW-Authenticate"), "") << where;
        } else if (!scope_ok || !role_ok) {
          EXPECT_EQ(r.status, 403) << where;
        } else if (((owned && !who.owner) || admin_owned) && who.role != "admin" &&
                   !(dataset && who.role == "viewer")) {
          EXPECT_EQ(r.status, 404) << where;  // another's resource does not exist for you
        } else {
          EXPECT_NE(r.status, 401) << where;
          EXPECT_NE(r.status, 403) << where;
          EXPECT_NE(r.status, 404) << where;
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 80);
  // Denials are audited.
  auto audit = c.Get("/api/v1/admin/audit?action=permission_denied&limit=5", {{"Authorization", Bearer(admin)}});
  ASSERT_EQ(audit.status, 200);
  EXPECT_FALSE(audit.Json()["items"].empty());
}

TEST(AuthorizationMatrixTest, EveryRouteAgainstEveryKindOfCallerOnSqlite) { CheckMatrix(Env{}); }

TEST(AuthorizationMatrixTest, EveryRouteAgainstEveryKindOfCallerOnPostgres) {
  CheckMatrix(Env{{"DATABASE_URL", SharedPostgres().NewDatabase()}});
}

// The sign-in flow a browser or a program goes through.
void SignInFlow(TestServer& server) {
  auto c = server.Client();
  auto reg = c.Post("/api/v1/auth/register", json{{"email", "ada@example.com"}, {"password", kPassword}}.dump());
  ASSERT_EQ(reg.status, 201) << reg.body;
  EXPECT_EQ(reg.Json()["role"], "admin");
  auto bad = c.Post("/api/v1/auth/register", json{{"email", "bob@example.com"}, {"password", "short"}}.dump());
  EXPECT_EQ(bad.status, 422);
  EXPECT_NE(bad.Json()["detail"].get<std::string>().find("password"), std::string::npos);

  auto login = c.Post("/api/v1/auth/login", json{{"email", "ada@example.com"}, {"password", kPassword}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  auto tokens = login.Json();
  EXPECT_EQ(tokens["token_type"], "bearer");
  std::string cookie = login.Header("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  std::string access = tokens["access_token"];

  auto me = c.Get("/api/v1/auth/me", {{"Authorization", Bearer(access)}});
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.Json()["email"], "ada@example.com");
  EXPECT_EQ(c.Get("/api/v1/auth/me").status, 401);
  EXPECT_EQ(c.Get("/api/v1/auth/me", {{"Authorization", Bearer(access + "x")}}).status, 401);

  // Refresh with the cookie (as the browser does), then reuse the old token: the session ends.
  std::string refresh_cookie = cookie.substr(0, cookie.find(';'));
  auto r1 = c.Post("/api/v1/auth/refresh", "", "application/json", {{"Cookie", refresh_cookie}});
  ASSERT_EQ(r1.status, 200) << r1.body;
  std::string access2 = r1.Json()["access_token"];
  EXPECT_EQ(c.Get("/api/v1/auth/me", {{"Authorization", Bearer(access2)}}).status, 200);
  auto reuse = c.Post("/api/v1/auth/refresh", json{{"refresh_token", tokens["refresh_token"]}}.dump());
  EXPECT_EQ(reuse.status, 401);
  EXPECT_EQ(c.Get("/api/v1/auth/me", {{"Authorization", Bearer(access2)}}).status, 401);

  // Sign in again and out.
  auto again = c.Post("/api/v1/auth/login", json{{"email", "ada@example.com"}, {"password", kPassword}}.dump());
  std::string access3 = again.Json()["access_token"];
  EXPECT_EQ(c.Post("/api/v1/auth/logout", "", "application/json", {{"Authorization", Bearer(access3)}}).status, 204);
  EXPECT_EQ(c.Get("/api/v1/auth/me", {{"Authorization", Bearer(access3)}}).status, 401);

  // The audit log saw it, and holds no secrets.
  auto admin = c.Post("/api/v1/auth/login", json{{"email", "ada@example.com"}, {"password", kPassword}}.dump());
  auto audit = c.Get("/api/v1/admin/audit?limit=100", {{"Authorization", Bearer(admin.Json()["access_token"])}});
  ASSERT_EQ(audit.status, 200);
  std::set<std::string> actions;
  json entries = audit.Json()["items"];
  for (const auto& e : entries) actions.insert(e["action"].get<std::string>());
  for (const char* a : {"user_created", "login", "refresh_reuse", "logout"}) EXPECT_TRUE(actions.count(a)) << a;
  EXPECT_EQ(audit.body.find(kPassword), std::string::npos);
  EXPECT_EQ(audit.body.find(tokens["refresh_token"].get<std::string>()), std::string::npos);
}

Env FastHashing() { return {{"ARGON2_MEMORY_KIB", "8192"}, {"ARGON2_ITERATIONS", "1"}}; }

TEST(AuthFlowTest, OnSqlite) {
  TestServer server(FastHashing());
  SignInFlow(server);
}

TEST(AuthFlowTest, OnPostgres) {
  Env env = FastHashing();
  env["DATABASE_URL"] = SharedPostgres().NewDatabase();
  TestServer server(env);
  SignInFlow(server);
}

TEST(AuthCliTest, UsersCommandsManageAccounts) {
  TempDir dir;
  Env env = FastHashing();
  env["DATA_DIR"] = dir.path();
  env["PLAYGROUND_PASSWORD"] = kPassword;
  auto [c1, o1] = RunPlayground({"users", "create", "--email", "root@example.com"}, env);
  EXPECT_EQ(c1, 0) << o1;
  EXPECT_NE(o1.find("(admin)"), std::string::npos) << o1;  // the first account
  auto [c2, o2] = RunPlayground({"users", "create", "--email", "v@example.com", "--role", "viewer"}, env);
  EXPECT_EQ(c2, 0) << o2;
  auto [c3, o3] = RunPlayground({"users", "set-role", "v@example.com", "member"}, env);
  EXPECT_EQ(c3, 0) << o3;
  auto [c4, o4] = RunPlayground({"users", "disable", "v@example.com"}, env);
  EXPECT_EQ(c4, 0) << o4;
  auto [c5, o5] = RunPlayground({"users", "list"}, env);
  EXPECT_EQ(c5, 0);
  EXPECT_NE(o5.find("root@example.com"), std::string::npos);
  EXPECT_TRUE(std::regex_search(o5, std::regex("v@example.com\\s+member\\s+disabled"))) << o5;
  auto [c6, o6] = RunPlayground({"users", "disable", "root@example.com"}, env);
  EXPECT_NE(c6, 0);  // the last admin
  EXPECT_NE(o6.find("last active admin"), std::string::npos) << o6;
}

TEST(RateLimitTest, AuthZoneAnswers429WithRetryAfter) {
  Env env = FastHashing();
  env["RATE_LIMIT_AUTH"] = "1";  // burst 2
  TestServer server(env);
  auto c = server.Client();
  int limited = 0;
  std::string retry_after;
  for (int i = 0; i < 6; ++i) {
    auto r = c.Post("/api/v1/auth/login", json{{"email", "x@example.com"}, {"password", kPassword}}.dump());
    if (r.status == 429) {
      ++limited;
      retry_after = r.Header("Retry-After");
      EXPECT_EQ(r.Header("Content-Type"), "application/problem+json");
    }
  }
  EXPECT_GE(limited, 3);
  EXPECT_FALSE(retry_after.empty());
  EXPECT_GE(std::stoi(retry_after), 1);
  EXPECT_EQ(c.Get("/health").status, 200);  // probes are not limited
}

TEST(RateLimitTest, RepeatedFailedLoginsBackOffForThatAccountOnly) {
  Env env = FastHashing();
  env["RATE_LIMIT_AUTH"] = "1000";  // only the per-account backoff is under test here
  TestServer server(env);
  auto c = server.Client();
  SignUp(c, "ada@example.com");
  int throttled = 0;
  for (int i = 0; i < 8; ++i) {
    auto r = c.Post("/api/v1/auth/login", json{{"email", "ada@example.com"}, {"password", "wrong password!"}}.dump());
    if (r.status == 429) ++throttled;
  }
  EXPECT_GE(throttled, 1);
  // Another account is unaffected.
  SignUp(c, "bob@example.com");
}

TEST(RateLimitTest, TwoProcessesShareOneLimitThroughRedis) {
  RedisInstance redis;
  Env env = FastHashing();
  env["REDIS_URL"] = redis.Url();
  env["RATE_LIMIT_API"] = "1";  // burst 2, shared by both processes
  TestServer a(env), b(env);
  EXPECT_EQ(a.Client().Get("/health").Json()["redis"], "connected");
  auto ca = a.Client();
  auto cb = b.Client();
  auto token = SignUp(ca, "ada@example.com");
  int ok = 0;
  for (int i = 0; i < 5; ++i) {
    if (ca.Get("/api/v1/api-keys", {{"Authorization", Bearer(token)}}).status == 200) ++ok;
    if (cb.Get("/api/v1/api-keys", {{"Authorization", Bearer(token)}}).status == 200) ++ok;
  }
  // Separate limits would let 2 x 2 through (plus refill); one shared bucket lets about 2.
  EXPECT_GE(ok, 1);
  EXPECT_LE(ok, 3);
}

}  // namespace
}  // namespace playground::testkit

#include "http/middleware.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "http/openapi.h"

namespace playground::http {
namespace {

Response RunChain(const std::vector<Middleware>& chain, Request& req, Next inner) {
  return Compose(chain, std::move(inner))(req);
}

Request MakeRequest(std::string method = "GET", std::string path = "/x") {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.start = std::chrono::steady_clock::now();
  return r;
}

TEST(MiddlewareTest, ComposeRunsOutermostFirst) {
  std::string order;
  auto tag = [&](char c) {
    return Middleware([&order, c](Request& req, const Next& next) {
      order.push_back(c);
      return next(req);
    });
  };
  Request req = MakeRequest();
  RunChain({tag('a'), tag('b'), tag('c')}, req, [&](Request&) {
    order.push_back('h');
    return Response::Empty(204);
  });
  EXPECT_EQ(order, "abch");
}

TEST(MiddlewareTest, RequestIdIsKeptWhenSaneAndReplacedOtherwise) {
  Request req = MakeRequest();
  req.headers.Set("X-Request-ID", "abc-123");
  auto res = RunChain({RequestIdMiddleware()}, req, [](Request&) { return Response::Empty(204); });
  EXPECT_EQ(req.request_id, "abc-123");
  EXPECT_EQ(res.headers.Get("X-Request-ID"), "abc-123");

  Request bad = MakeRequest();
  bad.headers.Set("X-Request-ID", "evil\"value with spaces");
  auto res2 = RunChain({RequestIdMiddleware()}, bad, [](Request&) { return Response::Empty(204); });
  EXPECT_EQ(bad.request_id.size(), 32u);
  EXPECT_EQ(res2.headers.Get("X-Request-ID"), bad.request_id);
}

TEST(MiddlewareTest, ProblemMiddlewareMapsErrorsToProblemJson) {
  Request req = MakeRequest("GET", "/api/v1/things/9");
  req.request_id = "rid";
  auto res = RunChain({ProblemMiddleware(false)}, req,
                      [](Request&) -> Response { core::Fail(core::ErrorCode::kNotFound, "no thing 9"); });
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.headers.Get("Content-Type"), "application/problem+json");
  auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(body["type"], "/problems/not-found");
  EXPECT_EQ(body["title"], "Not Found");
  EXPECT_EQ(body["status"], 404);
  EXPECT_EQ(body["detail"], "no thing 9");
  EXPECT_EQ(body["instance"], "/api/v1/things/9");
  EXPECT_EQ(body["request_id"], "rid");
}

TEST(MiddlewareTest, UnexpectedExceptionsHideTheirTextUnlessDebug) {
  Request req = MakeRequest();
  auto inner = [](Request&) -> Response { throw std::runtime_error("secret internals"); };
  auto res = RunChain({ProblemMiddleware(false)}, req, inner);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body.find("secret internals"), std::string::npos);
  auto dbg = RunChain({ProblemMiddleware(true)}, req, inner);
  EXPECT_NE(dbg.body.find("secret internals"), std::string::npos);
}

TEST(MiddlewareTest, CorsAllowsListedOriginsOnlyAndAnswersPreflight) {
  auto cors = CorsMiddleware({"http://localhost:5173"});
  Request req = MakeRequest();
  req.headers.Set("Origin", "http://localhost:5173");
  auto ok = RunChain({cors}, req, [](Request&) { return Response::Empty(200); });
  EXPECT_EQ(ok.headers.Get("Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_EQ(ok.headers.Get("Access-Control-Allow-Credentials"), "true");

  Request other = MakeRequest();
  other.headers.Set("Origin", "http://evil.example");
  auto no = RunChain({cors}, other, [](Request&) { return Response::Empty(200); });
  EXPECT_FALSE(no.headers.Has("Access-Control-Allow-Origin"));

  Request pre = MakeRequest("OPTIONS");
  pre.headers.Set("Origin", "http://localhost:5173");
  pre.headers.Set("Access-Control-Request-Method", "POST");
  bool reached = false;
  auto p = RunChain({cors}, pre, [&](Request&) {
    reached = true;
    return Response::Empty(200);
  });
  EXPECT_FALSE(reached);
  EXPECT_EQ(p.status, 204);
  EXPECT_TRUE(p.headers.Has("Access-Control-Allow-Methods"));
}

TEST(MiddlewareTest, SecurityHeadersAndHstsOnlyBehindTls) {
  auto sec = SecurityHeadersMiddleware();
  Request req = MakeRequest();
  auto res = RunChain({sec}, req, [](Request&) { return Response::Empty(200); });
  EXPECT_EQ(res.headers.Get("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(res.headers.Get("X-Frame-Options"), "DENY");
  EXPECT_TRUE(res.headers.Has("Content-Security-Policy"));
  EXPECT_FALSE(res.headers.Has("Strict-Transport-Security"));
  req.headers.Set("X-Forwarded-Proto", "https");
  auto tls = RunChain({sec}, req, [](Request&) { return Response::Empty(200); });
  EXPECT_TRUE(tls.headers.Has("Strict-Transport-Security"));
}

TEST(OpenApiTest, DocumentIsGeneratedFromTheRouteTable) {
  Router r;
  r.Get("/api/v1/jobs/{id}", [](Request&) { return Response::Empty(200); })
      .Summary("Get a job")
      .Tag("jobs")
      .Query("fields", "string", "Which fields")
      .Returns(200, "The job", {{"type", "object"}});
  r.Post("/api/v1/jobs", [](Request&) { return Response::Empty(201); }).Body({{"type", "object"}});
  r.Get("/hidden", [](Request&) { return Response::Empty(200); }).Hidden();
  auto doc = BuildOpenApi(r, {"T", "1", "d", nlohmann::json::object()});
  EXPECT_EQ(doc["openapi"], "3.1.0");
  auto& get = doc["paths"]["/api/v1/jobs/{id}"]["get"];
  EXPECT_EQ(get["summary"], "Get a job");
  EXPECT_EQ(get["operationId"], "getApiV1JobsById");
  EXPECT_EQ(get["parameters"][0]["name"], "id");
  EXPECT_EQ(get["parameters"][0]["in"], "path");
  EXPECT_EQ(get["parameters"][1]["in"], "query");
  EXPECT_TRUE(get["responses"].contains("default"));
  EXPECT_TRUE(doc["paths"]["/api/v1/jobs"]["post"].contains("requestBody"));
  EXPECT_FALSE(doc["paths"].contains("/hidden"));
  EXPECT_TRUE(doc["components"]["schemas"].contains("Problem"));
}

}  // namespace
}  // namespace playground::http

// The real binary over HTTP: system endpoints, middleware, error bodies, graceful stop.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "testkit/process.h"

namespace playground::testkit {
namespace {

class SystemTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(Env{{"CORS_ORIGINS", "http://localhost:5173"}}); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static TestServer* server_;
};
TestServer* SystemTest::server_ = nullptr;

TEST_F(SystemTest, HealthReportsTheSeedFields) {
  auto c = server_->Client();
  auto r = c.Get("/health");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  auto j = r.Json();
  EXPECT_EQ(j["status"], "healthy");
  EXPECT_EQ(j["database"], "connected");
  EXPECT_EQ(j["redis"], "not configured");
  EXPECT_TRUE(j["version"].is_string());
  EXPECT_TRUE(j["uptime"].is_number_integer());
  EXPECT_GE(j["uptime"].get<int>(), 0);
}

TEST_F(SystemTest, ReadyOnceTheDatabaseAnswers) {
  auto c = server_->Client();
  auto r = c.Get("/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["ready"], true);
}

TEST_F(SystemTest, MetricsCountRequestsByRouteTemplateAndStatus) {
  auto c = server_->Client();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.Get("/health").status, 200);
  ASSERT_EQ(c.Get("/no/such/path").status, 404);
  auto m = c.Get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.Header("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
  std::smatch match;
  std::regex health_count(R"(http_requests_total\{method="GET",route="/health",status="200"\} (\d+))");
  ASSERT_TRUE(std::regex_search(m.body, match, health_count)) << m.body;
  EXPECT_GE(std::stoi(match[1]), 3);
  EXPECT_TRUE(
      std::regex_search(m.body, std::regex(R"(http_requests_total\{method="GET",route="unmatched",status="404"\})")));
  EXPECT_TRUE(std::regex_search(
      m.body, std::regex(R"(http_request_duration_seconds_bucket\{method="GET",route="/health",le="0.005"\})")));
  EXPECT_TRUE(std::regex_search(m.body, std::regex(R"(process_resident_memory_bytes [1-9])")));
  EXPECT_TRUE(std::regex_search(m.body, std::regex(R"(playground_uptime_seconds \d)")));
}

TEST_F(SystemTest, OpenApiIsGeneratedFromTheRoutes) {
  auto c = server_->Client();
  auto r = c.Get("/openapi.json");
  ASSERT_EQ(r.status, 200);
  auto doc = r.Json();
  EXPECT_EQ(doc["openapi"], "3.1.0");
  for (const char* path : {"/health", "/ready", "/metrics", "/openapi.json", "/docs"}) {
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  }
  EXPECT_FALSE(doc["paths"].contains("/docs/{file}"));  // hidden asset route
  EXPECT_TRUE(doc["components"]["schemas"].contains("Problem"));
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
  EXPECT_EQ(doc["components"]["securitySchemes"]["apiKeyHeader"]["name"], "X-API-Key");
  EXPECT_EQ(doc["paths"]["/api/v1/auth/me"]["get"]["x-access"], "user");
  EXPECT_TRUE(doc["paths"]["/api/v1/auth/me"]["get"].contains("security"));
}

TEST_F(SystemTest, DocsServeSwaggerUiFromTheBinary) {
  auto c = server_->Client();
  auto page = c.Get("/docs");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("swagger-ui-bundle.js"), std::string::npos);
  auto js = c.Get("/docs/swagger-ui-bundle.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_GT(js.body.size(), 100000u);
  EXPECT_NE(js.body.find("SwaggerUIBundle"), std::string::npos);
  EXPECT_EQ(c.Get("/docs/swagger-ui.css").status, 200);
  EXPECT_NE(c.Get("/docs/init.js").body.find("/openapi.json"), std::string::npos);
  EXPECT_EQ(c.Get("/docs/missing.js").status, 404);
}

TEST_F(SystemTest, RequestIdsAreEchoedOrMade) {
  auto c = server_->Client();
  EXPECT_EQ(c.Get("/health", {{"X-Request-ID", "trace-42"}}).Header("X-Request-ID"), "trace-42");
  std::string made = c.Get("/health").Header("X-Request-ID");
  EXPECT_EQ(made.size(), 32u);
  // ...and the access log line carries it.
  bool found = false;
  for (int i = 0; i < 30 && !found; ++i) {
    for (const auto& line : server_->LogLines()) {
      if (line.value("msg", "") == "request" && line.value("request_id", "") == "trace-42") {
        found = true;
        EXPECT_EQ(line["route"], "/health");
        EXPECT_EQ(line["status"], 200);
        EXPECT_TRUE(line["duration_ms"].is_number());
      }
    }
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // logs flush every second
  }
  EXPECT_TRUE(found);
}

TEST_F(SystemTest, ErrorsAreProblemJson) {
  auto c = server_->Client();
  auto nf = c.Get("/api/v1/nothing");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.Header("Content-Type"), "application/problem+json");
  auto j = nf.Json();
  for (const char* k : {"type", "title", "status", "detail", "instance", "request_id"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["status"], 404);
  auto na = c.Post("/health", "{}");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.Header("Allow"), "GET");
  auto big = c.Get("/health", {{"X-Padding", std::string(20000, 'p')}});
  EXPECT_EQ(big.status, 431);
}

TEST_F(SystemTest, SecurityHeadersAndCors) {
  auto c = server_->Client();
  auto r = c.Get("/health", {{"Origin", "http://localhost:5173"}});
  EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.Header("X-Frame-Options"), "DENY");
  EXPECT_NE(r.Header("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), "http://localhost:5173");
  auto other = c.Get("/health", {{"Origin", "http://elsewhere.example"}});
  EXPECT_EQ(other.Header("Access-Control-Allow-Origin"), "");
  auto pre = c.Request("OPTIONS", "/api/v1/anything", "",
                       {{"Origin", "http://localhost:5173"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_NE(pre.Header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
}

TEST(ShutdownTest, SigtermLetsInFlightRequestsComplete) {
  TestServer server;
  auto c = server.Client();
  // A request whose body is still arriving is in flight: the header is in, the body is not.
  c.Send("GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server.process().Signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(server.process().Running());  // waiting for our request
  c.Send("67890");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Connection"), "close");
  auto code = server.process().Wait(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  bool logged = false;
  for (const auto& line : server.LogLines()) logged = logged || line.value("msg", "") == "stopped";
  EXPECT_TRUE(logged);
}

TEST(ShutdownTest, SigintStopsAnIdleServerPromptly) {
  TestServer server;
  auto t0 = std::chrono::steady_clock::now();
  server.process().Signal(SIGINT);
  auto code = server.process().Wait(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST(DataDirTest, SqliteDatabaseAndSecretKeyLiveInTheDataDir) {
  TestServer server;
  EXPECT_TRUE(std::ifstream(server.data_dir() + "/playground.db").good());
  std::ifstream key(server.data_dir() + "/secret_key");
  std::string k;
  std::getline(key, k);
  EXPECT_EQ(k.size(), 64u);
  // Never logged.
  EXPECT_EQ(server.process().Stdout().find(k), std::string::npos);
}

// The web UI as the binary serves it: files, the app's pages, and the API beside them.
TEST(WebUiTest, ServesTheBuiltAppBesideTheApi) {
  TempDir web;
  std::filesystem::create_directories(web.path() + "/assets");
  std::ofstream(web.path() + "/index.html") << "<!doctype html><div id=\"root\"></div>";
  std::ofstream(web.path() + "/assets/index-1a2b.js") << "console.log('app')";
  TestServer server(Env{{"STATIC_DIR", web.path()}});
  auto c = server.Client();

  auto page = c.Get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.Header("Cache-Control"), "no-cache");
  EXPECT_NE(page.Header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  auto again = c.Get("/", {{"If-None-Match", page.Header("ETag")}});
  EXPECT_EQ(again.status, 304);

  auto deep = c.Get("/models/42");  // a page of the app, reloaded: the app's router shows it
  EXPECT_EQ(deep.status, 200);
  EXPECT_EQ(deep.body, page.body);

  auto js = c.Get("/assets/index-1a2b.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.Header("Cache-Control"), "public, max-age=31536000, immutable");

  EXPECT_EQ(c.Get("/assets/index-gone.js").status, 404);
  auto api = c.Get("/api/v1/no-such-endpoint");
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.Header("Content-Type"), "application/problem+json");
  EXPECT_EQ(c.Get("/health").Json()["status"], "healthy");

  bool logged = false;
  for (const auto& line : server.LogLines()) {
    if (line.value("msg", "") == "listening") logged = line.value("web_ui", "") == web.path();
  }
  EXPECT_TRUE(logged) << "the start-up line names the UI's directory";
}

TEST(WebUiTest, WithoutABuiltUiUnknownPathsStayProblems) {
  TestServer server;  // STATIC_DIR: a missing directory
  auto c = server.Client();
  auto r = c.Get("/datasets");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Header("Content-Type"), "application/problem+json");
}

}  // namespace
}  // namespace playground::testkit

#include "http/router.h"

#include <gtest/gtest.h>

namespace playground::http {
namespace {

Handler Nop() {
  return [](Request&) { return Response::Empty(204); };
}

TEST(RouterTest, MatchesLiteralAndParameterisedPaths) {
  Router r;
  r.Get("/health", Nop());
  r.Get("/api/v1/jobs/{id}", Nop());
  r.Post("/api/v1/jobs/{id}/cancel", Nop());
  auto m = r.Match("GET", "/api/v1/jobs/42");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/jobs/{id}");
  EXPECT_EQ(m.params.at("id"), "42");
  EXPECT_EQ(r.Match("GET", "/health").route->pattern, "/health");
  EXPECT_EQ(r.Match("POST", "/api/v1/jobs/7/cancel").params.at("id"), "7");
  EXPECT_EQ(r.Match("GET", "/api/v1/jobs/").route, nullptr);  // an empty parameter does not match
  EXPECT_EQ(r.Match("GET", "/api/v1/jobs/1/2").route, nullptr);
}

TEST(RouterTest, LiteralSegmentsWinOverParameters) {
  Router r;
  r.Get("/api/v1/models/{id}", Nop());
  r.Get("/api/v1/models/promoted", Nop()).Summary("literal");
  r.Get("/a/{x}/c", Nop());
  r.Get("/a/b/{y}", Nop());
  EXPECT_EQ(r.Match("GET", "/api/v1/models/promoted").route->summary, "literal");
  // Both have one literal after the prefix; either is acceptable but the match is deterministic.
  EXPECT_NE(r.Match("GET", "/a/b/c").route, nullptr);
}

TEST(RouterTest, ReportsOtherMethodsForA405) {
  Router r;
  r.Get("/api/v1/jobs", Nop());
  r.Post("/api/v1/jobs", Nop());
  r.Delete("/api/v1/jobs/{id}", Nop());
  auto m = r.Match("PUT", "/api/v1/jobs");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_exists);
  EXPECT_EQ(m.allowed_methods, "GET, POST");
  auto m2 = r.Match("GET", "/api/v1/jobs/3");
  EXPECT_TRUE(m2.path_exists);
  EXPECT_EQ(m2.allowed_methods, "DELETE");
  EXPECT_FALSE(r.Match("GET", "/nothing").path_exists);
}

TEST(RouterTest, HeadMatchesGet) {
  Router r;
  r.Get("/health", Nop());
  EXPECT_NE(r.Match("HEAD", "/health").route, nullptr);
}

TEST(RouterTest, RestParameterTakesTheRemainingPath) {
  Router r;
  r.Get("/assets/{path...}", Nop());
  auto m = r.Match("GET", "/assets/js/app.1234.js");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("path"), "js/app.1234.js");
}

TEST(RouterTest, DuplicateRoutesAreRejected) {
  Router r;
  r.Get("/x", Nop());
  EXPECT_THROW(r.Get("/x", Nop()), std::exception);
}

TEST(RouterTest, ParamNamesInOrder) {
  Router r;
  auto& route = r.Get("/a/{one}/b/{two}", Nop());
  EXPECT_EQ(route.ParamNames(), (std::vector<std::string>{"one", "two"}));
}

}  // namespace
}  // namespace playground::http

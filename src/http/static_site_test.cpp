#include "http/static_site.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "testkit/process.h"

namespace playground::http {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

class StaticSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write(fs::path(dir_.path()) / "index.html", "<!doctype html><div id=root></div>");
    Write(fs::path(dir_.path()) / "assets" / "index-3f2a.js", "console.log(1)");
    Write(fs::path(dir_.path()) / "favicon.svg", "<svg/>");
    site_ = StaticSite::Load(dir_.path());
  }
  Response Get(const std::string& path, const std::string& method = "GET") {
    Request req;
    req.method = method;
    req.path = path;
    Next inner = [](Request&) { return Response::Text(404, "no route"); };
    return Compose({StaticSiteMiddleware(site_, "/api/v1")}, inner)(req);
  }

  testkit::TempDir dir_;
  std::shared_ptr<const StaticSite> site_;
};

TEST_F(StaticSiteTest, ServesFilesWithTheirTypes) {
  EXPECT_EQ(site_->size(), 3u);
  Response root = Get("/");
  EXPECT_EQ(root.status, 200);
  EXPECT_EQ(root.body, "<!doctype html><div id=root></div>");
  EXPECT_EQ(root.headers.Get("Content-Type"), "text/html; charset=utf-8");
  Response js = Get("/assets/index-3f2a.js");
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.headers.Get("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/favicon.svg").headers.Get("Content-Type"), "image/svg+xml");
}

TEST_F(StaticSiteTest, HashedAssetsAreImmutableAndThePageIsRevalidated) {
  EXPECT_EQ(Get("/assets/index-3f2a.js").headers.Get("Cache-Control"), "public, max-age=31536000, immutable");
  Response page = Get("/");
  EXPECT_EQ(page.headers.Get("Cache-Control"), "no-cache");
  auto etag = page.headers.Get("ETag");
  ASSERT_TRUE(etag.has_value());
  EXPECT_THAT(std::string(*etag), ::testing::MatchesRegex("\"[0-9a-f]{32}\""));  // a header value: printable

  Request again;
  again.method = "GET";
  again.path = "/";
  again.headers.Set("If-None-Match", std::string(*etag));
  Response not_modified = site_->Serve(again).value();
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());

  again.headers.Set("If-None-Match", "\"something-else\"");
  EXPECT_EQ(site_->Serve(again).value().status, 200);
}

TEST_F(StaticSiteTest, PagesOfTheAppFallBackToIndex) {
  for (const char* path : {"/datasets", "/models/8d1c/predict", "/admin/users"}) {
    Response res = Get(path);
    EXPECT_EQ(res.status, 200) << path;
    EXPECT_EQ(res.body, "<!doctype html><div id=root></div>") << path;
  }
}

TEST_F(StaticSiteTest, MissingFilesApiPathsAndOtherMethodsAreNotTheApp) {
  EXPECT_EQ(Get("/assets/index-gone.js").status, 404);
  EXPECT_EQ(Get("/robots.txt").status, 404);
  EXPECT_EQ(Get("/api/v1/nothing").status, 404);
  EXPECT_EQ(Get("/api/v1").status, 404);
  EXPECT_EQ(Get("/datasets", "POST").status, 404);
  EXPECT_EQ(Get("/datasets", "HEAD").status, 200);
}

TEST_F(StaticSiteTest, RequestPathsNeverReachFilesOutsideTheDirectory) {
  Write(fs::path(dir_.path()).parent_path() / (fs::path(dir_.path()).filename().string() + "-secret.txt"), "secret");
  std::string outside = "/../" + fs::path(dir_.path()).filename().string() + "-secret.txt";
  Response res = Get(outside);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body.find("secret"), std::string::npos);
  fs::remove(fs::path(dir_.path()).parent_path() / (fs::path(dir_.path()).filename().string() + "-secret.txt"));
}

TEST(StaticSiteLoadTest, AMissingDirectoryIsAnEmptySiteThatPassesEverythingOn) {
  auto site = StaticSite::Load("/nonexistent/web/dist");
  EXPECT_TRUE(site->empty());
  Request req;
  req.method = "GET";
  req.path = "/";
  Response res = Compose({StaticSiteMiddleware(site, "/api/v1")}, [](Request&) { return Response::Empty(404); })(req);
  EXPECT_EQ(res.status, 404);
}

TEST(StaticSiteLoadTest, ASiteLargerThanTheLimitIsRefused) {
  testkit::TempDir dir;
  Write(fs::path(dir.path()) / "index.html", std::string(2048, 'x'));
  EXPECT_THROW(StaticSite::Load(dir.path(), 1024), core::Error);
}

}  // namespace
}  // namespace playground::http

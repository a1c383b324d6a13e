// The binary on a real PostgreSQL started by the harness: migrations at start-up, health, and
// readiness that follows the database.
#include <gtest/gtest.h>

#include <thread>

#include "testkit/postgres_instance.h"
#include "testkit/process.h"

namespace playground::testkit {
namespace {

TEST(PostgresServeTest, MigratesAtStartUpAndReportsHealth) {
  std::string url = SharedPostgres().NewDatabase();
  TestServer server({{"DATABASE_URL", url}, {"DB_POOL_SIZE", "4"}});
  auto c = server.Client();
  auto h = c.Get("/health").Json();
  EXPECT_EQ(h["status"], "healthy");
  EXPECT_EQ(h["database"], "connected");
  EXPECT_EQ(c.Get("/ready").status, 200);
  bool listening_on_pg = false;
  for (const auto& line : server.LogLines()) {
    if (line.value("msg", "") == "listening") listening_on_pg = line.value("database", "") == "postgresql";
  }
  EXPECT_TRUE(listening_on_pg);
  auto [code, out] = RunPlayground({"migrate", "--status"}, {{"DATABASE_URL", url}});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("applied"), std::string::npos);
  EXPECT_EQ(out.find("pending"), std::string::npos);
}

TEST(PostgresServeTest, QueryParametersSuchAsSslmodeAreHonoured) {
  std::string url = SharedPostgres().NewDatabase() + "?sslmode=disable&application_name=playground-test";
  TestServer server({{"DATABASE_URL", url}});
  EXPECT_EQ(server.Client().Get("/health").Json()["database"], "connected");
  // sslmode=require against a server without TLS must fail clearly.
  auto [code, out] = RunPlayground(
      {"serve"}, {{"DATABASE_URL", SharedPostgres().Url() + "?sslmode=require"}, {"DB_CONNECT_TIMEOUT_SECONDS", "2"}});
  EXPECT_EQ(code, 3) << out;
}

TEST(PostgresServeTest, ReadinessFollowsTheDatabase) {
  PostgresInstance pg;  // our own, so that stopping it disturbs no other test
  TestServer server({{"DATABASE_URL", pg.Url()}, {"DB_CONNECT_TIMEOUT_SECONDS", "1"}});
  auto c = server.Client();
  ASSERT_EQ(c.Get("/ready").status, 200);
  pg.Stop();
  int status = 0;
  for (int i = 0; i < 50 && status != 503; ++i) {  // probes run every 2 s
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    status = c.Get("/ready").status;
  }
  EXPECT_EQ(status, 503);
  auto h = c.Get("/health");
  EXPECT_EQ(h.status, 200);  // liveness is not readiness
  EXPECT_EQ(h.Json()["database"], "disconnected");
  EXPECT_EQ(h.Json()["status"], "degraded");
}

}  // namespace
}  // namespace playground::testkit

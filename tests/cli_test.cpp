// The command line: help, version, settings, bad configuration and unreachable databases.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "testkit/process.h"

namespace playground::testkit {
namespace {

TEST(CliTest, EverySubcommandHasHelp) {
  for (const char* cmd : {"serve", "migrate", "version", "settings", "algorithms"}) {
    auto [code, out] = RunPlayground({cmd, "--help"});
    EXPECT_EQ(code, 0) << cmd;
    EXPECT_NE(out.find("Usage"), std::string::npos) << cmd << ": " << out;
  }
  auto [code, out] = RunPlayground({"serve", "--help"});
  // Settings appear with their flag and environment variable.
  EXPECT_NE(out.find("--database-url"), std::string::npos);
  EXPECT_NE(out.find("DATABASE_URL"), std::string::npos);
  EXPECT_NE(out.find("--port"), std::string::npos);
}

TEST(CliTest, VersionPrintsTheVersion) {
  auto [code, out] = RunPlayground({"version"});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out.rfind("playground ", 0), 0u) << out;
}

// The value of `name` in the environment a running process was started (or last executed) with.
std::optional<std::string> EnvironmentOf(int pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::string entry;
  while (std::getline(in, entry, '\0')) {
    if (entry.rfind(name + "=", 0) == 0) return entry.substr(name.size() + 1);
  }
  return std::nullopt;
}

// OpenMP threads spin briefly before they sleep, so that processes sharing the cores do not wait
// out each other's spinning; an operator's own setting stands.
TEST(CliTest, TrainingThreadsWaitBrieflyUnlessTheEnvironmentSaysHow) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): no other thread changes the environment
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) {
    GTEST_SKIP() << "this test's own environment sets how OpenMP threads wait";
  }
  {
    TestServer server;
    EXPECT_EQ(EnvironmentOf(server.process().pid(), "GOMP_SPINCOUNT"), "1000");
  }
  {
    TestServer server(Env{{"GOMP_SPINCOUNT", "5000"}});
    EXPECT_EQ(EnvironmentOf(server.process().pid(), "GOMP_SPINCOUNT"), "5000");
  }
  {
    TestServer server(Env{{"OMP_WAIT_POLICY", "active"}});
    EXPECT_EQ(EnvironmentOf(server.process().pid(), "GOMP_SPINCOUNT"), std::nullopt);
    EXPECT_EQ(EnvironmentOf(server.process().pid(), "OMP_WAIT_POLICY"), "active");
  }
}

TEST(CliTest, NoSubcommandIsAUsageError) {
  auto [code, out] = RunPlayground({});
  EXPECT_EQ(code, 2);
}

TEST(CliTest, ReadmeSettingsTableIsTheGeneratedOne) {
  auto [code, table] = RunPlayground({"settings"});
  ASSERT_EQ(code, 0);
  std::ifstream readme(SourceDir() + "/README.md");
  std::stringstream ss;
  ss << readme.rdbuf();
  EXPECT_NE(ss.str().find(table), std::string::npos)
      << "README.md's settings table is out of date; regenerate it with `playground settings`";
}

TEST(CliTest, ReadmeAlgorithmTablesAreTheGeneratedOnes) {
  auto [code, tables] = RunPlayground({"algorithms"});
  ASSERT_EQ(code, 0);
  EXPECT_NE(tables.find("`gradient_boosting`"), std::string::npos) << tables;
  std::ifstream readme(SourceDir() + "/README.md");
  std::stringstream ss;
  ss << readme.rdbuf();
  EXPECT_NE(ss.str().find(tables), std::string::npos)
      << "README.md's algorithm tables are out of date; regenerate them with `playground algorithms`";
}

TEST(CliTest, BadSettingStopsStartUpWithExit2NamingIt) {
  auto [code, out] = RunPlayground({"serve"}, {{"PORT", "http"}});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("PORT"), std::string::npos) << out;
  auto [code2, out2] = RunPlayground({"serve", "--log-level", "loud"});
  EXPECT_EQ(code2, 2);
  EXPECT_NE(out2.find("LOG_LEVEL"), std::string::npos) << out2;
}

TEST(CliTest, FlagOverridesEnvironment) {
  // The environment says a bad port, the flag a good one: the flag wins, so start-up gets as far
  // as the database, which we make fail on purpose to stop quickly.
  auto [code, out] = RunPlayground({"serve", "--port", "0", "--database-url", "postgresql://u:hunter2@127.0.0.1:1/x"},
                                   {{"PORT", "not-a-port"}, {"DB_CONNECT_TIMEOUT_SECONDS", "1"}});
  EXPECT_EQ(code, 3) << out;
}

TEST(CliTest, ProductionRefusesAWeakSecretKey) {
  auto [code, out] = RunPlayground({"serve"}, {{"ENVIRONMENT", "production"}, {"SECRET_KEY", "secret"}});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("SECRET_KEY"), std::string::npos) << out;
  auto [code2, out2] = RunPlayground({"serve"}, {{"ENVIRONMENT", "production"}});
  EXPECT_EQ(code2, 2);
  EXPECT_NE(out2.find("SECRET_KEY"), std::string::npos) << out2;
}

TEST(CliTest, UnreachableDatabaseIsAClearErrorWithoutThePassword) {
  auto [code, out] = RunPlayground({"serve"}, {{"DATABASE_URL", "postgresql://app:hunter2@127.0.0.1:1/playground"},
                                               {"DB_CONNECT_TIMEOUT_SECONDS", "1"}});
  EXPECT_EQ(code, 3);
  EXPECT_NE(out.find("cannot open the database"), std::string::npos) << out;
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
}

TEST(CliTest, PortInUseIsAClearError) {
  TestServer first;
  auto [code, out] = RunPlayground({"serve"}, {{"PORT", std::to_string(first.port())}});
  EXPECT_EQ(code, 3);
  EXPECT_NE(out.find("cannot listen"), std::string::npos) << out;
}

TEST(CliTest, MigrateAppliesOnceAndReportsStatus) {
  TempDir dir;
  std::map<std::string, std::string> env = {{"DATA_DIR", dir.path()}};
  auto [code, out] = RunPlayground({"migrate"}, env);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("applied"), std::string::npos);
  auto [code2, out2] = RunPlayground({"migrate"}, env);
  EXPECT_EQ(code2, 0);
  EXPECT_NE(out2.find("applied 0 migration"), std::string::npos) << out2;
  auto [code3, out3] = RunPlayground({"migrate", "--status"}, env);
  EXPECT_EQ(code3, 0);
  EXPECT_NE(out3.find("0001"), std::string::npos) << out3;
  EXPECT_NE(out3.find("applied"), std::string::npos);
  EXPECT_EQ(out3.find("pending"), std::string::npos);
}

}  // namespace
}  // namespace playground::testkit

#include "store/migrate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "core/error.h"
#include "store/test_backends.h"

namespace playground::store {
namespace {

using core::ErrorCode;
using testing::Backend;
using testing::BackendTest;
using testing::ErrorCodeOf;

class MigrateTest : public BackendTest {};

INSTANTIATE_TEST_SUITE_P(Backends, MigrateTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

std::vector<int> AllVersions(Dialect dialect) {
  std::vector<int> versions;
  for (const auto& m : EmbeddedMigrations(dialect)) versions.push_back(m.version);
  return versions;
}

TEST(EmbeddedMigrationsTest, AreOrderedAndChecksummed) {
  for (Dialect dialect : {Dialect::kSqlite, Dialect::kPostgres}) {
    std::vector<Migration> migrations = EmbeddedMigrations(dialect);
    ASSERT_FALSE(migrations.empty());
    EXPECT_EQ(migrations[0].version, 1);
    EXPECT_EQ(migrations[0].name, "init");
    EXPECT_NE(migrations[0].sql.find("CREATE TABLE instance"), std::string::npos);
    for (size_t i = 0; i < migrations.size(); ++i) {
      EXPECT_EQ(migrations[i].checksum.size(), 64u);
      if (i > 0) {
        EXPECT_LT(migrations[i - 1].version, migrations[i].version);
      }
    }
  }
  // SHA-256 of the exact file bytes.
  Migration init = EmbeddedMigrations(Dialect::kSqlite)[0];
  EXPECT_EQ(init.checksum.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST_P(MigrateTest, AppliesEachMigrationOnce) {
  auto db = Open();
  Dialect dialect = db->dialect();
  for (const auto& status : MigrationStatuses(*db)) EXPECT_FALSE(status.applied);

  EXPECT_EQ(Migrate(*db), AllVersions(dialect));
  EXPECT_EQ(Migrate(*db), std::vector<int>{});

  for (const auto& status : MigrationStatuses(*db)) {
    EXPECT_TRUE(status.applied) << status.migration.name;
    EXPECT_GT(status.applied_at_us, 1'600'000'000'000'000);
  }
  // The schema of 0001 is usable.
  db->Exec("INSERT INTO instance (id, created_at) VALUES (?, ?)", {std::string("abc"), int64_t{1}});
  Result recorded = db->Query("SELECT version, name, checksum FROM schema_migrations ORDER BY version");
  ASSERT_EQ(recorded.rows.size(), AllVersions(dialect).size());
  EXPECT_EQ(recorded.rows[0].Int(0), 1);
  EXPECT_EQ(recorded.rows[0].Text(1), "init");
  EXPECT_EQ(recorded.rows[0].Text(2), EmbeddedMigrations(dialect)[0].checksum);
}

TEST_P(MigrateTest, ChangedMigrationIsConflict) {
  auto db = Open();
  Migrate(*db);
  db->Exec("UPDATE schema_migrations SET checksum = ? WHERE version = 1", {std::string("0000")});
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { Migrate(*db); }, &message), ErrorCode::kConflict);
  EXPECT_NE(message.find("0001_init"), std::string::npos) << message;
}

TEST_P(MigrateTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  constexpr int kMigrators = 4;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kMigrators; ++i) stores.push_back(Open(2));  // as if separate processes
  std::vector<std::vector<int>> applied(kMigrators);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kMigrators; ++i) {
    threads.emplace_back([&, i] {
      try {
        applied[i] = Migrate(*stores[i]);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<int> all;
  for (const auto& versions : applied) all.insert(all.end(), versions.begin(), versions.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, AllVersions(stores[0]->dialect()));
  EXPECT_EQ(stores[0]->Query("SELECT COUNT(*) FROM schema_migrations").rows.at(0).Int(0),
            static_cast<int64_t>(AllVersions(stores[0]->dialect()).size()));
}

}  // namespace
}  // namespace playground::store

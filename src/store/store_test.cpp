#include "store/store.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <latch>
#include <limits>
#include <thread>
#include <vector>

#include "core/error.h"
#include "store/postgres_store.h"
#include "store/test_backends.h"
#include "testkit/postgres_instance.h"

namespace playground::store {
namespace {

using core::ErrorCode;
using testing::Backend;
using testing::BackendTest;
using testing::ErrorCodeOf;
using namespace std::chrono_literals;

class StoreTest : public BackendTest {};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

constexpr const char* kValuesTable =
    "CREATE TABLE vals (id TEXT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, flag INTEGER)";

TEST_P(StoreTest, RoundTripsEveryValueType) {
  auto db = Open();
  db->Exec(kValuesTable);
  const std::string unicode = "h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89 'quoted' \"dq\" ?";
  const std::string large(1 << 20, 'x');
  struct Case {
    std::string id;
    Value i, d, s, flag;
  };
  std::vector<Case> cases = {
      {"max", int64_t{std::numeric_limits<int64_t>::max()}, 1e300, unicode, int64_t{1}},
      {"min", int64_t{std::numeric_limits<int64_t>::min()}, -0.1, std::string(), int64_t{0}},
      {"nulls", nullptr, nullptr, nullptr, nullptr},
      {"large", int64_t{-1}, 3.25, large, int64_t{1}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(db->Exec("INSERT INTO vals (id, i, d, s, flag) VALUES (?, ?, ?, ?, ?)", {c.id, c.i, c.d, c.s, c.flag}),
              1);
  }
  for (const auto& c : cases) {
    Result r = db->Query("SELECT i, d, s, flag FROM vals WHERE id = ?", {c.id});
    ASSERT_EQ(r.rows.size(), 1u) << c.id;
    const Row& row = r.rows[0];
    EXPECT_EQ(row.at(0), c.i) << c.id;
    EXPECT_EQ(row.at(1), c.d) << c.id;
    EXPECT_EQ(row.at(2), c.s) << c.id;
    EXPECT_EQ(row.at(3), c.flag) << c.id;
  }
  Row nulls = db->Query("SELECT i, s FROM vals WHERE id = 'nulls'").rows.at(0);
  EXPECT_TRUE(nulls.IsNull(0));
  EXPECT_EQ(nulls.OptInt(0), std::nullopt);
  EXPECT_EQ(nulls.OptText(1), std::nullopt);
  EXPECT_EQ(ErrorCodeOf([&] { nulls.Int(0); }), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeOf([&] { nulls.Text(1); }), ErrorCode::kInternal);
  Row max = db->Query("SELECT i, s FROM vals WHERE id = 'max'").rows.at(0);
  EXPECT_EQ(max.OptInt(0), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(max.OptText(1), unicode);
}

TEST_P(StoreTest, ExpressionsMapToTheSameTypes) {
  auto db = Open();
  // Comparisons are bool on PostgreSQL and integers on SQLite; both read as 0/1.
  Row row = db->Query("SELECT 1 = 1, 1 = 0, 2 + 3, 1.5 * 2, 'text', NULL").rows.at(0);
  EXPECT_EQ(row.at(0), Value(int64_t{1}));
  EXPECT_EQ(row.at(1), Value(int64_t{0}));
  EXPECT_EQ(row.at(2), Value(int64_t{5}));
  EXPECT_DOUBLE_EQ(row.Double(3), 3.0);
  EXPECT_EQ(row.Text(4), "text");
  EXPECT_TRUE(row.IsNull(5));
  // An untyped parameter comes back as text on PostgreSQL; the accessors still read it.
  Row params = db->Query("SELECT ?, ?, ?", {int64_t{42}, 2.5, std::string("s")}).rows.at(0);
  EXPECT_EQ(params.Int(0), 42);
  EXPECT_DOUBLE_EQ(params.Double(1), 2.5);
  EXPECT_EQ(params.Text(2), "s");
}

TEST_P(StoreTest, CountsAffectedRowsAndNamesColumns) {
  auto db = Open();
  EXPECT_EQ(db->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)"), 0);
  EXPECT_EQ(db->Exec("INSERT INTO t (id, n) VALUES (1, 10), (2, 20), (3, 30)"), 3);
  EXPECT_EQ(db->Exec("UPDATE t SET n = n + 1 WHERE id >= ?", {int64_t{2}}), 2);
  EXPECT_EQ(db->Exec("UPDATE t SET n = 0 WHERE id = 99"), 0);
  Result select = db->Query("SELECT id AS ident, n FROM t ORDER BY id");
  EXPECT_EQ(select.affected, 0);
  EXPECT_EQ(select.columns, (std::vector<std::string>{"ident", "n"}));
  ASSERT_EQ(select.rows.size(), 3u);
  EXPECT_EQ(select.rows[2].Int(1), 31);
  EXPECT_EQ(db->Exec("DELETE FROM t WHERE id = 1"), 1);
  Result returning = db->Query("INSERT INTO t (id, n) VALUES (?, ?) RETURNING id", {int64_t{7}, int64_t{70}});
  EXPECT_EQ(returning.affected, 1);
  ASSERT_EQ(returning.rows.size(), 1u);
  EXPECT_EQ(returning.rows[0].Int(0), 7);
}

TEST_P(StoreTest, TransactionCommitsAndRollsBack) {
  auto db = Open();
  db->Exec("CREATE TABLE t (id TEXT PRIMARY KEY)");
  db->Transaction([](Tx& tx) {
    tx.Exec("INSERT INTO t (id) VALUES (?)", {std::string("a")});
    EXPECT_EQ(tx.Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 1);  // visible inside
  });
  EXPECT_THROW(db->Transaction([](Tx& tx) {
    tx.Exec("INSERT INTO t (id) VALUES (?)", {std::string("b")});
    throw std::logic_error("boom");
  }),
               std::logic_error);
  Result r = db->Query("SELECT id FROM t ORDER BY id");
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0].Text(0), "a");
  // The connection that rolled back is healthy and back in the pool.
  EXPECT_EQ(db->Stats().in_use, 0);
  db->Transaction([](Tx& tx) { tx.Exec("INSERT INTO t (id) VALUES ('c')"); });
  EXPECT_EQ(db->Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 2);
}

TEST_P(StoreTest, ExecScriptRunsSeveralStatements) {
  auto db = Open();
  db->Transaction([](Tx& tx) {
    tx.ExecScript(
        "CREATE TABLE a (id INTEGER PRIMARY KEY); -- a comment; with a semicolon\n"
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\n"
        "INSERT INTO a (id) VALUES (1);");
  });
  EXPECT_EQ(db->Exec("INSERT INTO b (id, a_id) VALUES (1, 1)"), 1);
  // Foreign keys are enforced on both backends.
  EXPECT_EQ(ErrorCodeOf([&] { db->Exec("INSERT INTO b (id, a_id) VALUES (2, 99)"); }), ErrorCode::kConflict);
  // A failing script leaves nothing behind.
  EXPECT_EQ(
      ErrorCodeOf([&] {
        db->Transaction([](Tx& tx) { tx.ExecScript("CREATE TABLE c (id INTEGER); INSERT INTO nope VALUES (1);"); });
      }),
      ErrorCode::kInternal);
  EXPECT_EQ(db->Exec("CREATE TABLE c (id INTEGER)"), 0);
}

TEST_P(StoreTest, UniqueViolationIsConflict) {
  auto db = Open();
  db->Exec("CREATE TABLE t (id TEXT PRIMARY KEY, other TEXT NOT NULL)");
  db->Exec("INSERT INTO t (id, other) VALUES ('a', 'x')");
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { db->Exec("INSERT INTO t (id, other) VALUES ('a', 'y')"); }, &message),
            ErrorCode::kConflict);
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(ErrorCodeOf([&] {
              db->Transaction([](Tx& tx) {
                tx.Exec("INSERT INTO t (id, other) VALUES ('b', 'x')");
                tx.Exec("INSERT INTO t (id, other) VALUES ('a', 'x')");
              });
            }),
            ErrorCode::kConflict);
  EXPECT_EQ(db->Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 1);
}

TEST_P(StoreTest, ConcurrentIncrementsLoseNothing) {
  auto db = Open(4);
  db->Exec("CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)");
  db->Exec("INSERT INTO counter (id, n) VALUES (1, 0)");
  constexpr int kThreads = 4;
  constexpr int kIncrements = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        try {
          db->Transaction([](Tx& tx) {
            tx.Query("SELECT n FROM counter WHERE id = 1");
            tx.Exec("UPDATE counter SET n = n + 1 WHERE id = 1");
          });
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db->Query("SELECT n FROM counter WHERE id = 1").rows.at(0).Int(0), kThreads * kIncrements);
  PoolStats stats = db->Stats();
  EXPECT_EQ(stats.size, 4);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_LE(stats.idle, 4);
  EXPECT_GE(stats.idle, 1);
}

TEST_P(StoreTest, PingAndName) {
  auto db = Open();
  EXPECT_TRUE(db->Ping());
  EXPECT_EQ(db->name(), postgres() ? "postgresql" : "sqlite");
  EXPECT_EQ(db->dialect(), postgres() ? Dialect::kPostgres : Dialect::kSqlite);
}

TEST_P(StoreTest, ExhaustedPoolIsUnavailableWithinTheTimeout) {
  auto db = Open(/*pool_size=*/1, /*connect_timeout=*/1s);
  std::promise<void> holding;
  std::promise<void> release;
  std::thread holder([&] {
    db->Transaction([&](Tx& tx) {
      tx.Query("SELECT 1");
      holding.set_value();
      release.get_future().wait();
    });
  });
  holding.get_future().wait();
  auto start = std::chrono::steady_clock::now();
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { db->Query("SELECT 1"); }, &message), ErrorCode::kUnavailable);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 3s);
  EXPECT_NE(message.find("pool exhausted"), std::string::npos) << message;
  EXPECT_EQ(db->Stats().in_use, 1);
  release.set_value();
  holder.join();
  EXPECT_EQ(db->Query("SELECT 1").rows.at(0).Int(0), 1);
}

TEST_P(StoreTest, MisusedStatementsAreInternalErrors) {
  auto db = Open();
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { db->Query("SELEC 1"); }, &message), ErrorCode::kInternal);
  EXPECT_NE(message.find("SELEC 1"), std::string::npos) << message;
  EXPECT_EQ(ErrorCodeOf([&] { db->Query("SELECT ?, ?", {int64_t{1}}); }), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeOf([&] { db->Query("SELECT 1; SELECT 2"); }), ErrorCode::kInternal);
  // The pool survives errors.
  EXPECT_TRUE(db->Ping());
}

// --- Backend-independent pieces -------------------------------------------------------------

TEST(RedactUrlTest, HidesPasswords) {
  EXPECT_EQ(RedactUrl("postgresql://alice:s3cret@db.example:5432/app?sslmode=require"),
            "postgresql://alice:***@db.example:5432/app?sslmode=require");
  EXPECT_EQ(RedactUrl("postgres://alice:p@ss@host/db"), "postgres://alice:***@host/db");
  EXPECT_EQ(RedactUrl("postgresql://alice@host/db"), "postgresql://alice@host/db");
  EXPECT_EQ(RedactUrl("postgresql://host/db?user=a&password=secret&sslmode=disable"),
            "postgresql://host/db?user=a&password=***&sslmode=disable");
  EXPECT_EQ(RedactUrl("sqlite:///var/lib/playground/db.sqlite"), "sqlite:///var/lib/playground/db.sqlite");
  EXPECT_EQ(RedactUrl("postgresql://u:a/b?c@host/db").find("a/b?c"), std::string::npos);
}

TEST(TimeTest, MicrosRoundTrip) {
  auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1'700'000'000'123'456));
  EXPECT_EQ(ToMicros(t), 1'700'000'000'123'456);
  EXPECT_EQ(FromMicros(ToMicros(t)), t);
  EXPECT_EQ(ToMicros(FromMicros(-5)), -5);
}

TEST(RowTest, ConvertsBetweenNumbers) {
  Row row({int64_t{7}, 2.0, std::string("12"), std::string("1.5"), std::string("abc"), nullptr});
  EXPECT_EQ(row.Int(1), 2);
  EXPECT_DOUBLE_EQ(row.Double(0), 7.0);
  EXPECT_EQ(row.Int(2), 12);
  EXPECT_DOUBLE_EQ(row.Double(3), 1.5);
  EXPECT_EQ(row.Int(3), 1);
  EXPECT_EQ(ErrorCodeOf([&] { row.Int(4); }), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeOf([&] { row.Text(0); }), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeOf([&] { row.Double(5); }), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeOf([&] { row.Int(6); }), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeOf([&] { Row({1e300}).Int(0); }), ErrorCode::kInternal);
}

TEST(OpenStoreTest, RejectsUnknownSchemesAndEmptyPaths) {
  StoreOptions options;
  options.url = "mysql://user:pw@host/db";
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { OpenStore(options); }, &message), ErrorCode::kValidation);
  EXPECT_EQ(message.find(":pw@"), std::string::npos) << message;
  options.url = "sqlite://";
  EXPECT_EQ(ErrorCodeOf([&] { OpenStore(options); }), ErrorCode::kValidation);
  options.url = "sqlite:///tmp/x.db";
  options.pool_size = 0;
  EXPECT_EQ(ErrorCodeOf([&] { OpenStore(options); }), ErrorCode::kValidation);
}

// --- SQLite only ----------------------------------------------------------------------------

TEST(SqliteStoreTest, CreatesParentDirectoriesForAbsoluteAndRelativePaths) {
  testing::ScratchDir dir;
  StoreOptions options;
  options.url = "sqlite://" + dir.path() + "/nested/deeper/abs.db";
  OpenStore(options)->Exec("CREATE TABLE t (id INTEGER)");
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/nested/deeper/abs.db"));

  std::filesystem::path relative = std::filesystem::relative(dir.path() + "/rel/x.db");
  ASSERT_FALSE(relative.is_absolute());
  options.url = "sqlite://" + relative.string();
  OpenStore(options)->Exec("CREATE TABLE t (id INTEGER)");
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/rel/x.db"));
}

TEST(SqliteStoreTest, UnopenableFileIsUnavailable) {
  testing::ScratchDir dir;
  StoreOptions options;
  options.url = "sqlite://" + dir.path();  // a directory, not a database file
  EXPECT_EQ(ErrorCodeOf([&] { OpenStore(options); }), ErrorCode::kUnavailable);
}

TEST(SqliteStoreTest, InMemoryDatabaseWorks) {
  StoreOptions options;
  options.url = "sqlite://:memory:";
  auto db = OpenStore(options);
  db->Exec("CREATE TABLE t (id INTEGER)");
  db->Transaction([](Tx& tx) { tx.Exec("INSERT INTO t VALUES (1)"); });
  EXPECT_EQ(db->Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 1);
  EXPECT_EQ(db->Stats().size, 1);
}

TEST(SqliteStoreTest, HeldWriteLockIsUnavailableAfterTheBusyTimeout) {
  testing::ScratchDir dir;
  StoreOptions options;
  options.url = "sqlite://" + dir.path() + "/busy.db";
  auto holder_db = OpenStore(options);
  holder_db->Exec("CREATE TABLE t (id INTEGER)");
  options.busy_timeout = 200ms;
  auto waiter_db = OpenStore(options);

  std::promise<void> holding;
  std::promise<void> release;
  std::thread holder([&] {
    holder_db->Transaction([&](Tx& tx) {
      tx.Exec("INSERT INTO t VALUES (1)");
      holding.set_value();
      release.get_future().wait();
    });
  });
  holding.get_future().wait();
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ErrorCodeOf([&] { waiter_db->Transaction([](Tx& tx) { tx.Exec("INSERT INTO t VALUES (2)"); }); }),
            ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeOf([&] { waiter_db->Exec("INSERT INTO t VALUES (3)"); }), ErrorCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  // Readers are not blocked by the writer (WAL).
  EXPECT_EQ(waiter_db->Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 0);
  release.set_value();
  holder.join();
  waiter_db->Transaction([](Tx& tx) { tx.Exec("INSERT INTO t VALUES (2)"); });
  EXPECT_EQ(waiter_db->Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 2);
}

TEST(SqliteStoreTest, KeptStatementsFollowSchemaChangesAndAFailedOneHoldsNoSnapshot) {
  testing::ScratchDir dir;
  StoreOptions options;
  options.url = "sqlite://" + dir.path() + "/kept.db";
  options.pool_size = 1;  // every call on the same connection, so on its kept statements
  auto db = OpenStore(options);
  db->Exec("CREATE TABLE t (a INTEGER)");
  db->Exec("INSERT INTO t VALUES (1), (-9223372036854775807 - 1)");
  EXPECT_EQ(db->Query("SELECT * FROM t").columns.size(), 1u);
  db->Exec("ALTER TABLE t ADD COLUMN b TEXT");
  EXPECT_EQ(db->Query("SELECT * FROM t").columns.size(), 2u);
  // abs() of the smallest integer overflows on the second row: the statement fails mid-step.
  EXPECT_THROW(db->Query("SELECT abs(a) FROM t"), core::Error);
  auto other = OpenStore(options);
  other->Exec("INSERT INTO t (a) VALUES (2)");
  EXPECT_EQ(db->Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 3)
      << "a statement left mid-step would keep its snapshot, without the new row";
}

// --- PostgreSQL only ------------------------------------------------------------------------

int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::unique_ptr<Store> OpenPostgres(const std::string& url, int pool_size = 2) {
  StoreOptions options;
  options.url = url;
  options.pool_size = pool_size;
  return OpenStore(options);
}

TEST(PostgresStoreTest, UnreachableServerIsUnavailableWithoutThePassword) {
  StoreOptions options;
  options.connect_timeout = 2s;
  for (std::string url :
       {"postgresql://alice:Sup3r-Secret@127.0.0.1:" + std::to_string(ClosedPort()) + "/db",
        "postgres://127.0.0.1:" + std::to_string(ClosedPort()) + "/db?user=alice&password=Sup3r-Secret"}) {
    options.url = url;
    auto start = std::chrono::steady_clock::now();
    std::string message;
    EXPECT_EQ(ErrorCodeOf([&] { OpenStore(options); }, &message), ErrorCode::kUnavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(message.find("Sup3r-Secret"), std::string::npos) << message;
    EXPECT_NE(message.find("***"), std::string::npos) << message;
  }
}

TEST(PostgresStoreTest, MalformedUrlIsValidationError) {
  StoreOptions options;
  options.url = "postgresql://alice:Sup3r-Secret@127.0.0.1/db?nosuchoption=1";
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { OpenStore(options); }, &message), ErrorCode::kValidation);
  EXPECT_EQ(message.find("Sup3r-Secret"), std::string::npos) << message;
}

TEST(PostgresStoreTest, KeepsUrlParametersAndConnectTimeout) {
  auto& pg = testkit::SharedPostgres();
  auto db = OpenPostgres(pg.Url() + "?sslmode=disable&connect_timeout=3&application_name=store_test");
  EXPECT_EQ(db->Query("SELECT current_setting('application_name')").rows.at(0).Text(0), "store_test");
}

TEST(PostgresStoreTest, BrokenConnectionIsReplaced) {
  auto& pg = testkit::SharedPostgres();
  std::string url = pg.NewDatabase();
  auto db = OpenPostgres(url, 1);
  auto admin = OpenPostgres(url, 1);
  auto kill_backend = [&] {
    int64_t pid = db->Query("SELECT pg_backend_pid()").rows.at(0).Int(0);
    admin->Query("SELECT pg_terminate_backend(?)", {pid});
    for (int i = 0; i < 200; ++i) {
      if (admin->Query("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", {pid}).rows.at(0).Int(0) == 0) return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL() << "backend " << pid << " did not exit";
  };

  kill_backend();
  // The statement may have reached the dead connection: it fails, and the next use reconnects.
  EXPECT_EQ(ErrorCodeOf([&] { db->Query("SELECT 1"); }), ErrorCode::kUnavailable);
  EXPECT_EQ(db->Query("SELECT 1").rows.at(0).Int(0), 1);

  // A transaction whose BEGIN finds a dead connection retries on a fresh one.
  kill_backend();
  db->Transaction([](Tx& tx) { EXPECT_EQ(tx.Query("SELECT 2").rows.at(0).Int(0), 2); });
  EXPECT_EQ(db->Stats().in_use, 0);
}

TEST(PostgresStoreTest, DeadlockedTransactionIsRetried) {
  auto db = OpenPostgres(testkit::SharedPostgres().NewDatabase(), 2);
  db->Exec("CREATE TABLE d (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)");
  db->Exec("INSERT INTO d (id, n) VALUES (1, 0), (2, 0)");
  std::latch both_locked(2);
  std::atomic<int> attempts{0};
  auto worker = [&](int first, int second) {
    bool initial = true;
    db->Transaction([&](Tx& tx) {
      ++attempts;
      tx.Exec("UPDATE d SET n = n + 1 WHERE id = ?", {int64_t{first}});
      if (initial) {
        initial = false;
        both_locked.arrive_and_wait();  // now each holds the row the other needs next
      }
      tx.Exec("UPDATE d SET n = n + 1 WHERE id = ?", {int64_t{second}});
    });
  };
  std::thread a(worker, 1, 2);
  std::thread b(worker, 2, 1);
  a.join();
  b.join();
  EXPECT_EQ(attempts.load(), 3);  // the deadlock victim ran twice
  Result r = db->Query("SELECT n FROM d ORDER BY id");
  EXPECT_EQ(r.rows.at(0).Int(0), 2);
  EXPECT_EQ(r.rows.at(1).Int(0), 2);
}

TEST(PostgresStoreTest, StatementTimeoutIsTimeout) {
  auto db = OpenPostgres(testkit::SharedPostgres().Url());
  EXPECT_EQ(ErrorCodeOf([&] {
              db->Transaction([](Tx& tx) {
                tx.Exec("SET LOCAL statement_timeout = '50ms'");
                tx.Query("SELECT pg_sleep(5)");
              });
            }),
            ErrorCode::kTimeout);
  // SET LOCAL ended with the transaction: no session state leaks into the pool.
  EXPECT_EQ(db->Query("SELECT current_setting('statement_timeout')").rows.at(0).Text(0), "0");
}

TEST(PostgresStoreTest, CaughtErrorStillAbortsTheTransaction) {
  auto db = OpenPostgres(testkit::SharedPostgres().NewDatabase());
  db->Exec("CREATE TABLE t (id TEXT PRIMARY KEY)");
  db->Exec("INSERT INTO t (id) VALUES ('a')");
  // PostgreSQL aborts the whole transaction on an error; committing must not pretend otherwise.
  EXPECT_EQ(ErrorCodeOf([&] {
              db->Transaction([](Tx& tx) {
                tx.Exec("INSERT INTO t (id) VALUES ('b')");
                try {
                  tx.Exec("INSERT INTO t (id) VALUES ('a')");
                } catch (const core::Error&) {
                }
              });
            }),
            ErrorCode::kConflict);
  EXPECT_EQ(db->Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 1);
}

TEST(PostgresStoreTest, NumericAndTypedColumns) {
  auto db = OpenPostgres(testkit::SharedPostgres().Url());
  Row row = db->Query(
                  "SELECT CAST(1 AS SMALLINT), CAST(2 AS INTEGER), CAST(3 AS BIGINT), CAST(1.25 AS REAL), "
                  "CAST(2.5 AS NUMERIC), TRUE, CAST('2024-01-02' AS DATE), CAST(? AS BIGINT), CAST(? AS TEXT)",
                  {std::string("9007199254740993"), int64_t{5}})
                .rows.at(0);
  EXPECT_EQ(row.at(0), Value(int64_t{1}));
  EXPECT_EQ(row.at(1), Value(int64_t{2}));
  EXPECT_EQ(row.at(2), Value(int64_t{3}));
  EXPECT_EQ(row.at(3), Value(1.25));
  EXPECT_EQ(row.at(4), Value(2.5));
  EXPECT_EQ(row.at(5), Value(int64_t{1}));
  EXPECT_EQ(row.at(6), Value(std::string("2024-01-02")));
  EXPECT_EQ(row.at(7), Value(int64_t{9007199254740993}));
  EXPECT_EQ(row.at(8), Value(std::string("5")));
}

TEST(RewritePlaceholdersTest, NumbersOnlyRealPlaceholders) {
  int count = -1;
  EXPECT_EQ(internal::RewritePlaceholders("SELECT * FROM t WHERE a = ? AND b IN (?, ?)", &count),
            "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)");
  EXPECT_EQ(count, 3);
  EXPECT_EQ(internal::RewritePlaceholders("SELECT '?', 'it''s ?', ? FROM \"we?rd\" WHERE x = ?", &count),
            "SELECT '?', 'it''s ?', $1 FROM \"we?rd\" WHERE x = $2");
  EXPECT_EQ(count, 2);
  EXPECT_EQ(internal::RewritePlaceholders("SELECT ? -- why?\n, ? /* what? /* nested? */ still? */ , ?", &count),
            "SELECT $1 -- why?\n, $2 /* what? /* nested? */ still? */ , $3");
  EXPECT_EQ(count, 3);
  EXPECT_EQ(internal::RewritePlaceholders("SELECT E'\\'?', $$a?b$$, $tag$ ? $ ? $tag$, ?", &count),
            "SELECT E'\\'?', $$a?b$$, $tag$ ? $ ? $tag$, $1");
  EXPECT_EQ(count, 1);
  EXPECT_EQ(internal::RewritePlaceholders("SELECT 'unterminated ?", &count), "SELECT 'unterminated ?");
  EXPECT_EQ(count, 0);
  EXPECT_EQ(internal::RewritePlaceholders("", &count), "");
  EXPECT_EQ(count, 0);
}

}  // namespace
}  // namespace playground::store

// The PostgreSQL store through PgBouncer in transaction pooling mode, as deployed in production:
// one client connection's transactions may land on different server connections and one server
// connection serves many clients in turn, so anything the store left behind on a server connection
// (an open or aborted transaction, a SET, a prepared statement, a session lock) would break here.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <latch>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "store/migrate.h"
#include "store/store.h"
#include "store/test_backends.h"
#include "testkit/pgbouncer_instance.h"
#include "testkit/postgres_instance.h"

namespace playground::store {
namespace {

using core::ErrorCode;
using testing::ErrorCodeOf;
using namespace std::chrono_literals;

// Each test gets a fresh database on the shared server and its own bouncer in front of it.
class PgBouncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    direct_url_ = testkit::SharedPostgres().NewDatabase();
    db_name_ = direct_url_.substr(direct_url_.rfind('/') + 1);
  }

  void StartBouncer(int default_pool_size, std::chrono::seconds query_wait_timeout = 10s) {
    testkit::PgBouncerOptions options;
    options.default_pool_size = default_pool_size;
    options.query_wait_timeout = query_wait_timeout;
    bouncer_ = std::make_unique<testkit::PgBouncerInstance>(testkit::SharedPostgres(), options);
  }

  // A store whose connections all go through the bouncer.
  std::unique_ptr<Store> Open(int pool_size, const std::string& url_suffix = "") const {
    StoreOptions options;
    options.url = bouncer_->Url(db_name_) + url_suffix;
    options.pool_size = pool_size;
    return OpenStore(options);
  }

  // A store that bypasses the bouncer, to check what really reached the database.
  std::unique_ptr<Store> OpenDirect() const {
    StoreOptions options;
    options.url = direct_url_;
    options.pool_size = 1;
    return OpenStore(options);
  }

  void TearDown() override {
    if (HasFailure() && bouncer_)
      std::cerr << "PgBouncer log " << bouncer_->log_path() << ":\n" << bouncer_->LogTail(20);
  }

  std::string direct_url_;
  std::string db_name_;
  std::unique_ptr<testkit::PgBouncerInstance> bouncer_;
};

int64_t BackendPid(Tx& tx) { return tx.Query("SELECT pg_backend_pid()").rows.at(0).Int(0); }
int64_t BackendPid(Store& db) { return db.Query("SELECT pg_backend_pid()").rows.at(0).Int(0); }

TEST_F(PgBouncerTest, MigrationsApplyOnceAndRerunAsNoOp) {
  StartBouncer(2);
  auto db = Open(4);
  const size_t embedded = EmbeddedMigrations(Dialect::kPostgres).size();
  EXPECT_EQ(Migrate(*db).size(), embedded);
  EXPECT_TRUE(Migrate(*db).empty());
  for (const MigrationStatus& status : MigrationStatuses(*db)) {
    EXPECT_TRUE(status.applied) << status.migration.name;
  }
  // Committed on the server, not just visible through the bouncer.
  EXPECT_EQ(OpenDirect()->Query("SELECT COUNT(*) FROM schema_migrations").rows.at(0).Int(0),
            static_cast<int64_t>(embedded));
}

// The migration lock is transaction-scoped: a session-level advisory lock would stay on a server
// connection that PgBouncer hands to another client, and the migrators would run together.
TEST_F(PgBouncerTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  StartBouncer(2);
  constexpr int kMigrators = 4;
  std::vector<std::unique_ptr<Store>> stores;
  stores.reserve(kMigrators);
  for (int i = 0; i < kMigrators; ++i) stores.push_back(Open(2));  // as if separate processes
  std::vector<std::vector<int>> applied(kMigrators);
  std::vector<std::thread> threads;
  threads.reserve(kMigrators);
  for (int i = 0; i < kMigrators; ++i) {
    threads.emplace_back([&, i] {
      try {
        applied[i] = Migrate(*stores[i]);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<int> all;
  for (const auto& versions : applied) all.insert(all.end(), versions.begin(), versions.end());
  std::sort(all.begin(), all.end());
  std::vector<int> expected;
  for (const Migration& m : EmbeddedMigrations(Dialect::kPostgres)) expected.push_back(m.version);
  EXPECT_EQ(all, expected);
}

TEST_F(PgBouncerTest, ParametersOfEveryTypeRoundTrip) {
  StartBouncer(2);
  auto db = Open(2);
  db->Exec("CREATE TABLE vals (id TEXT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, flag INTEGER)");
  const std::string unicode = "h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x8E\x89 'quoted' \"dq\" ? $1 \\ ;";
  // Larger than PgBouncer's packet buffer (pkt_buf, 4 KiB), so it is streamed through in pieces.
  const std::string large(1 << 20, 'x');
  struct Case {
    std::string id;
    Value i, d, s, flag;
  };
  std::vector<Case> cases = {
      {"max", int64_t{std::numeric_limits<int64_t>::max()}, 1e300, unicode, int64_t{1}},
      {"min", int64_t{std::numeric_limits<int64_t>::min()}, -0.1, std::string(), int64_t{0}},
      {"nulls", nullptr, nullptr, nullptr, nullptr},
      {"large", int64_t{0}, 0.1 + 0.2, large, int64_t{1}},
  };
  // Half autocommit, half inside one transaction: both paths use the unnamed statement.
  for (size_t n = 0; n < cases.size(); n += 2) {
    const Case& c = cases[n];
    EXPECT_EQ(db->Exec("INSERT INTO vals (id, i, d, s, flag) VALUES (?, ?, ?, ?, ?)", {c.id, c.i, c.d, c.s, c.flag}),
              1);
  }
  db->Transaction([&](Tx& tx) {
    for (size_t n = 1; n < cases.size(); n += 2) {
      const Case& c = cases[n];
      tx.Exec("INSERT INTO vals (id, i, d, s, flag) VALUES (?, ?, ?, ?, ?)", {c.id, c.i, c.d, c.s, c.flag});
    }
  });
  for (const auto& c : cases) {
    Result r = db->Query("SELECT i, d, s, flag FROM vals WHERE id = ?", {c.id});
    ASSERT_EQ(r.rows.size(), 1u) << c.id;
    const Row& row = r.rows[0];
    EXPECT_EQ(row.at(0), c.i) << c.id;
    EXPECT_EQ(row.at(1), c.d) << c.id;
    EXPECT_EQ(row.at(2), c.s) << c.id;
    EXPECT_EQ(row.at(3), c.flag) << c.id;
  }
  // Parameters whose type the server infers from the expression.
  Row row =
      db->Query("SELECT CAST(? AS BIGINT) + 1, CAST(? AS DOUBLE PRECISION) * 2, ? || 'b', CAST(? AS TEXT) IS NULL",
                {int64_t{41}, 1.25, std::string("a"), nullptr})
          .rows.at(0);
  EXPECT_EQ(row.Int(0), 42);
  EXPECT_EQ(row.Double(1), 2.5);
  EXPECT_EQ(row.Text(2), "ab");
  EXPECT_EQ(row.Int(3), 1);
}

TEST_F(PgBouncerTest, TransactionsCommitAndRollBack) {
  StartBouncer(2);
  auto db = Open(2);
  auto other = Open(1);  // another client of the bouncer
  db->Exec("CREATE TABLE t (id TEXT PRIMARY KEY)");
  db->Transaction([](Tx& tx) {
    tx.Exec("INSERT INTO t (id) VALUES (?)", {std::string("a")});
    EXPECT_EQ(tx.Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 1);
  });
  EXPECT_THROW(db->Transaction([](Tx& tx) {
    tx.Exec("INSERT INTO t (id) VALUES (?)", {std::string("b")});
    throw std::logic_error("boom");
  }),
               std::logic_error);
  EXPECT_EQ(ErrorCodeOf([&] {
              db->Transaction([](Tx& tx) {
                tx.Exec("INSERT INTO t (id) VALUES ('c')");
                tx.Exec("INSERT INTO t (id) VALUES ('a')");
              });
            }),
            ErrorCode::kConflict);
  EXPECT_EQ(db->Stats().in_use, 0);
  for (Store* store : {db.get(), other.get()}) {
    Result r = store->Query("SELECT id FROM t ORDER BY id");
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0].Text(0), "a");
  }
  EXPECT_EQ(OpenDirect()->Query("SELECT COUNT(*) FROM t").rows.at(0).Int(0), 1);
}

// More store connections (8) than server connections (2): threads queue inside PgBouncer for a
// server connection. Each increment reads under FOR UPDATE and writes the value it read plus one,
// which loses updates unless every statement of a transaction runs on the server connection that
// took the row lock.
TEST_F(PgBouncerTest, ConcurrentTransactionsLoseNoUpdate) {
  constexpr int kServerConnections = 2;
  constexpr int kThreads = 8;
  constexpr int kIncrements = 25;
  StartBouncer(kServerConnections);
  auto db = Open(kThreads);
  db->Exec("CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)");
  db->Exec("INSERT INTO counter (id, n) VALUES (1, 0)");

  std::mutex mu;
  std::set<int64_t> pids;  // guarded by mu
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  // Counts the callbacks running now (a rerun after a deadlock included) and the most at once.
  struct Gauge {
    Gauge(std::atomic<int>& now, std::atomic<int>& peak) : now_(now) {
      int n = ++now_;
      int seen = peak.load();
      while (n > seen && !peak.compare_exchange_weak(seen, n)) {
      }
    }
    ~Gauge() { --now_; }
    std::atomic<int>& now_;
  };
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();  // all at once, so that the store opens all its connections
      for (int i = 0; i < kIncrements; ++i) {
        try {
          db->Transaction([&](Tx& tx) {
            Gauge gauge(inside, most_inside);
            int64_t pid = BackendPid(tx);
            int64_t n = tx.Query("SELECT n FROM counter WHERE id = 1 FOR UPDATE").rows.at(0).Int(0);
            tx.Exec("UPDATE counter SET n = ? WHERE id = 1", {n + 1});
            std::lock_guard lock(mu);
            pids.insert(pid);
          });
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(db->Query("SELECT n FROM counter WHERE id = 1").rows.at(0).Int(0), kThreads * kIncrements);
  // BEGIN returns only once PgBouncer lent the client a server connection.
  EXPECT_LE(most_inside.load(), kServerConnections);
  EXPECT_GE(pids.size(), 1u);
  EXPECT_LE(pids.size(), static_cast<size_t>(kServerConnections));
  PoolStats stats = db->Stats();
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_GT(stats.idle, kServerConnections) << "the store should have opened more connections than PgBouncer has";
}

// With a single server connection, two clients take turns on it: whatever one leaves behind, the
// other meets. A store that returned a connection inside an aborted transaction would also keep
// the server connection to itself, and the other client would wait out query_wait_timeout.
TEST_F(PgBouncerTest, StatementErrorDoesNotPoisonAnotherClient) {
  StartBouncer(1, /*query_wait_timeout=*/3s);
  auto a = Open(1);
  auto b = Open(1);
  const int64_t server = BackendPid(*a);
  ASSERT_EQ(BackendPid(*b), server) << "both clients should share the one server connection";
  // Sanity check of the setup: session state does leak between clients, which is why the store
  // must never rely on it.
  a->Exec("SET statement_timeout = '123s'");
  EXPECT_EQ(b->Query("SELECT current_setting('statement_timeout')").rows.at(0).Text(0), "123s");
  b->Exec("RESET statement_timeout");
  a->Exec("CREATE TABLE t (id TEXT PRIMARY KEY)");

  auto b_can_work = [&](const std::string& id) {
    b->Transaction([&](Tx& tx) {
      EXPECT_EQ(BackendPid(tx), server);
      tx.Exec("INSERT INTO t (id) VALUES (?)", {id});
    });
  };

  // A syntax error aborts a's transaction.
  EXPECT_EQ(ErrorCodeOf([&] {
              a->Transaction([](Tx& tx) {
                tx.Exec("INSERT INTO t (id) VALUES ('a1')");
                tx.Exec("SELEC 1");
              });
            }),
            ErrorCode::kInternal);
  b_can_work("b1");
  // An error that the callback catches and ignores: the transaction is still aborted.
  EXPECT_EQ(ErrorCodeOf([&] {
              a->Transaction([](Tx& tx) {
                tx.Exec("INSERT INTO t (id) VALUES ('a2')");
                try {
                  tx.Exec("INSERT INTO t (id) VALUES ('b1')");
                } catch (const core::Error&) {
                }
              });
            }),
            ErrorCode::kConflict);
  b_can_work("b2");
  // An error in an autocommit statement.
  EXPECT_EQ(ErrorCodeOf([&] { a->Query("SELECT 1 / (? - 1)", {int64_t{1}}); }), ErrorCode::kInternal);
  b_can_work("b3");
  // A statement timeout set with SET LOCAL ends with the transaction that set it.
  EXPECT_EQ(ErrorCodeOf([&] {
              a->Transaction([](Tx& tx) {
                tx.Exec("SET LOCAL statement_timeout = '50ms'");
                tx.Query("SELECT pg_sleep(5)");
              });
            }),
            ErrorCode::kTimeout);
  b->Transaction([&](Tx& tx) {
    EXPECT_EQ(BackendPid(tx), server);
    EXPECT_EQ(tx.Query("SELECT current_setting('statement_timeout')").rows.at(0).Text(0), "0");
  });
  // And the client that failed is fine too.
  a->Transaction([](Tx& tx) { tx.Exec("INSERT INTO t (id) VALUES ('a3')"); });

  Result r = OpenDirect()->Query("SELECT id FROM t ORDER BY id");
  std::vector<std::string> ids;
  for (const Row& row : r.rows) ids.push_back(row.Text(0));
  EXPECT_EQ(ids, (std::vector<std::string>{"a3", "b1", "b2", "b3"}));
  EXPECT_EQ(a->Stats().in_use, 0);
  EXPECT_EQ(b->Stats().in_use, 0);
}

// libpq sends application_name only when the URL sets it. PgBouncer tracks it rather than
// rejecting it, and sets it again on whichever server connection runs the client's next
// transaction. A client that sent none gets no RESET, though: it sees whatever name the server
// connection last had, so nothing may rely on application_name through PgBouncer.
TEST_F(PgBouncerTest, AcceptsApplicationNameInTheUrl) {
  StartBouncer(1);
  auto named = Open(1, "?application_name=pgbouncer_test&connect_timeout=3");
  auto other = Open(1, "?application_name=other");
  auto plain = Open(1);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(named->Query("SELECT current_setting('application_name')").rows.at(0).Text(0), "pgbouncer_test");
    EXPECT_EQ(other->Query("SELECT current_setting('application_name')").rows.at(0).Text(0), "other");
    EXPECT_TRUE(plain->Ping());
  }
}

TEST_F(PgBouncerTest, StopEndsPgBouncerAndRemovesItsDirectory) {
  StartBouncer(1);
  std::string dir = bouncer_->dir();
  std::string url = bouncer_->Url(db_name_);
  ASSERT_TRUE(std::filesystem::exists(dir + "/pgbouncer.ini"));
  bouncer_.reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
  StoreOptions options;
  options.url = url;
  options.connect_timeout = 2s;
  EXPECT_EQ(ErrorCodeOf([&] { OpenStore(options); }), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace playground::store

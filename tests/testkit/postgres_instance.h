// A throwaway PostgreSQL server for tests: initdb into a temporary directory, started on a free
// loopback port with durability off, stopped and deleted at the end. Tests that need PostgreSQL
// use the process-wide SharedPostgres() and a fresh database each (NewDatabase()).
//
// When the tests run as root (CI containers), initdb and the server run as the `postgres` system
// user (or `nobody`), because PostgreSQL refuses to run as root. A watchdog process stops the
// server if the test process dies without running its destructors. A pristine initdb result is
// cached under /tmp (playground-pg-template-*) so that later test processes skip initdb.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>
#include <string_view>

namespace playground::testkit {

// Thread-safety: Url(), CreateDatabase() and NewDatabase() are safe for concurrent use;
// construction, Stop() and destruction are not (call them from one thread).
class PostgresInstance {
 public:
  // Finds initdb/pg_ctl (PATH, then /usr/lib/postgresql/<version>/bin), creates the cluster,
  // starts it and creates the database "playground_test". Throws std::runtime_error with the
  // reason and the tail of the logs when PostgreSQL cannot start.
  PostgresInstance();
  ~PostgresInstance();
  PostgresInstance(const PostgresInstance&) = delete;
  PostgresInstance& operator=(const PostgresInstance&) = delete;

  int port() const { return port_; }
  const std::string& server_log() const { return server_log_; }

  // postgresql://postgres@127.0.0.1:PORT/db (trust authentication: no password).
  std::string Url(std::string db = "playground_test") const;

  // Creates database `name` ([a-z0-9_], at most 63 characters). Throws std::runtime_error.
  void CreateDatabase(const std::string& name);
  // Creates a database with a name unique in this instance and returns its Url().
  std::string NewDatabase();

  // Stops the server (immediate shutdown) and removes its directory. Idempotent.
  void Stop();

 private:
  void InitCluster(const std::string& base);
  void Start();
  void StartWatchdog();
  void StopWatchdog();
  [[noreturn]] void FailWithLogs(const std::string& what);

  std::string bin_dir_;
  std::string dir_;  // the temporary directory: data/, the socket, the logs
  std::string data_dir_;
  std::string server_log_;
  std::string command_log_;  // output of initdb, pg_ctl and createdb
  bool drop_privileges_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  int port_ = 0;
  bool running_ = false;
  pid_t owner_pid_ = 0;  // a forked child must not stop its parent's server
  pid_t watchdog_pid_ = -1;
  int watchdog_fd_ = -1;  // write end of the watchdog's pipe
  std::atomic<int> next_database_{0};
};

// The instance shared by every test of this process, started on first use and stopped at exit.
// If it failed to start, every call throws the same error (tests fail, they never skip).
PostgresInstance& SharedPostgres();

}  // namespace playground::testkit

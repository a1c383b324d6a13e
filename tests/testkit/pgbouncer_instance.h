// A throwaway PgBouncer in transaction pooling mode in front of a test PostgresInstance, so that
// tests can check that the PostgreSQL store keeps no session state: consecutive transactions of one
// client may run on different server connections, and one server connection serves many clients.
//
// When the tests run as root, pgbouncer runs as the `postgres` system user (or `nobody`), because
// it refuses to run as root. It gets SIGTERM when the thread that started it ends, so a test process
// that crashes leaves no bouncer running (only its directory under /tmp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>

#include "testkit/postgres_instance.h"

namespace playground::testkit {

struct PgBouncerOptions {
  // Server connections per (database, user) pair: small, so that clients have to share them.
  int default_pool_size = 4;
  // How long a client waits for a free server connection before PgBouncer drops it. Shorter than
  // PgBouncer's 120 s default, so that a leaked server connection fails a test instead of hanging it.
  std::chrono::seconds query_wait_timeout{10};
};

// Thread-safety: port(), Url() and the log accessors are safe for concurrent use; construction,
// Stop() and destruction are not (call them from one thread). Construct it on a thread that
// outlives it (a test body, not a short-lived worker): pgbouncer gets SIGTERM when that thread ends.
class PgBouncerInstance {
 public:
  // Writes pgbouncer.ini for `upstream` (which must keep running meanwhile) into a new temporary
  // directory and starts pgbouncer on a free loopback port. Throws std::runtime_error with the
  // reason and the tail of the logs when it cannot start; the directory is then kept.
  explicit PgBouncerInstance(const PostgresInstance& upstream, PgBouncerOptions options = {});
  ~PgBouncerInstance();
  PgBouncerInstance(const PgBouncerInstance&) = delete;
  PgBouncerInstance& operator=(const PgBouncerInstance&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  const std::string& log_path() const { return log_path_; }

  // postgresql://postgres@127.0.0.1:PORT/db: any database of the upstream server, through PgBouncer.
  std::string Url(std::string_view db) const;

  // The last lines of PgBouncer's log, for failure messages.
  std::string LogTail(size_t max_lines = 40) const;

  // Stops pgbouncer (SIGTERM, then SIGKILL) and removes its directory. Idempotent.
  void Stop();

 private:
  // The running pgbouncer process: stopped when destroyed, so that a constructor that throws
  // half-way does not leak it. Thread-compatible.
  class Child {
   public:
    Child() = default;
    ~Child() { Stop(); }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    void Reset(pid_t pid);
    bool running() const { return pid_ > 0; }
    // Reaps the process if it has exited; returns whether it is still running.
    bool Poll();
    // How the process ended, once Poll() returned false.
    const std::string& exit_reason() const { return exit_reason_; }
    // SIGTERM, up to `grace` for the exit, then SIGKILL. No-op in a forked copy of the test
    // process, which must not stop its parent's bouncer.
    void Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

   private:
    pid_t pid_ = -1;
    pid_t owner_pid_ = -1;
    std::string exit_reason_;
  };

  void WriteConfig();
  // Starts pgbouncer on port_ and waits until it answers; false when it exited early (most likely
  // because the port was taken since FreePort() picked it).
  bool TryStart();
  [[noreturn]] void Fail(const std::string& what);

  const int upstream_port_;
  const PgBouncerOptions options_;
  std::string binary_;
  std::string dir_;  // config, auth file, log, pidfile and unix socket
  std::string config_path_;
  std::string log_path_;     // PgBouncer's own log (logfile =)
  std::string stderr_path_;  // fatal errors from before the log is open
  bool drop_privileges_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  int port_ = 0;
  Child child_;  // declared last: stopped before anything else is torn down
};

}  // namespace playground::testkit

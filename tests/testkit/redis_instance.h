// A throwaway Redis server for tests: redis-server on a free loopback port with persistence off,
// its files in a temporary directory, killed and deleted at the end. Tests that stop and restart
// Redis own an instance; the others may share SharedRedis() and FlushAll() between tests.
//
// The harness talks to the server over a raw socket (not hiredis), so the testkit does not
// depend on the client it is used to test.
#pragma once

#include <sys/types.h>

#include <string>

namespace playground::testkit {

// Thread-safety: port(), password() and Url() are safe for concurrent use; construction,
// Start(), Stop(), FlushAll() and destruction are not (call them from one thread, and from the
// thread that constructed the instance: the server is tied to it with PR_SET_PDEATHSIG so that
// it dies with the test process even when no destructor runs).
class RedisInstance {
 public:
  // Finds redis-server (PATH, then /usr/bin) and starts it; with a non-empty `password`, the
  // server requires it (--requirepass). Throws std::runtime_error with the reason and the tail of
  // the server log when it cannot start.
  explicit RedisInstance(std::string password = "");
  ~RedisInstance();
  RedisInstance(const RedisInstance&) = delete;
  RedisInstance& operator=(const RedisInstance&) = delete;

  int port() const { return port_; }
  const std::string& password() const { return password_; }
  bool running() const { return pid_ > 0; }
  const std::string& log_path() const { return log_path_; }

  // redis://[:password@]127.0.0.1:PORT/db
  std::string Url(int db = 0) const;

  // Kills the server (SIGKILL, like a crash) and waits for it; the port and directory are kept
  // for Start(). Idempotent.
  void Stop();
  // Starts the server again on the same port and waits until it answers PING. Throws
  // std::runtime_error (with the log tail) if it does not come up.
  void Start();
  // Deletes every key in every database. Throws std::runtime_error if the server does not say OK.
  void FlushAll();

 private:
  void Launch(int port);
  bool WaitUntilReady(std::string* why);
  [[noreturn]] void FailWithLog(const std::string& what);

  std::string binary_;
  std::string password_;
  std::string dir_;
  std::string log_path_;
  long long run_log_start_ = 0;  // where the current run's lines begin in the log
  int port_ = 0;
  pid_t pid_ = -1;
  pid_t owner_pid_ = 0;  // a forked child must not kill its parent's server
};

// An instance shared by every test of this process (no password), started on first use and
// killed at exit. If it failed to start, every call throws the same error (tests fail, they
// never skip). Tests must not Stop() it.
RedisInstance& SharedRedis();

}  // namespace playground::testkit

#include "testkit/postgres_instance.h"

#include "testkit/local.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

namespace playground::testkit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultDatabase = "playground_test";

bool Executable(const fs::path& path) { return ::access(path.c_str(), X_OK) == 0; }

bool HasServerTools(const fs::path& dir) {
  return Executable(dir / "initdb") && Executable(dir / "pg_ctl") && Executable(dir / "createdb");
}

// PATH first (a developer's own build), then Debian's versioned directories, 15 preferred.
std::string FindBinDir() {
  std::string initdb = FindExecutable("initdb", {});
  if (!initdb.empty() && HasServerTools(fs::path(initdb).parent_path())) return fs::path(initdb).parent_path().string();
  if (HasServerTools("/usr/lib/postgresql/15/bin")) return "/usr/lib/postgresql/15/bin";
  std::vector<fs::path> others;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) others.push_back(entry.path() / "bin");
  std::sort(others.begin(), others.end(), [](const fs::path& a, const fs::path& b) {
    return std::atoi(a.parent_path().filename().c_str()) > std::atoi(b.parent_path().filename().c_str());
  });
  for (const auto& dir : others) {
    if (HasServerTools(dir)) return dir.string();
  }
  return "";
}

// Identity a child switches to before exec; nullopt keeps ours.
struct Identity {
  uid_t uid;
  gid_t gid;
};

// Everything a child does between fork and exec: only async-signal-safe calls, since the test
// process may have other threads. Never returns.
[[noreturn]] void ExecChild(const std::optional<Identity>& as, const char* cwd, int in_fd, int out_fd,
                            char* const argv[]) {
  if (as && (::setgroups(0, nullptr) != 0 || ::setgid(as->gid) != 0 || ::setuid(as->uid) != 0)) _exit(126);
  if (cwd && ::chdir(cwd) != 0) _exit(126);
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) _exit(126);
  // The server must not inherit the test's descriptors (sockets, database files, pipes).
  ::close_range(3, ~0U, 0);
  ::execv(argv[0], argv);
  _exit(127);
}

std::vector<char*> ArgvPointers(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// Runs `args` (args[0] an absolute path) to completion with stdout and stderr appended to
// `log`. Returns the exit status, or -1 when the program could not run.
int Run(std::vector<std::string> args, const std::string& log, const std::string& cwd,
        const std::optional<Identity>& as) {
  std::vector<char*> argv = ArgvPointers(args);
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return -1;
  }
  std::string header = "$";
  for (const auto& a : args) header += " " + a;
  header += "\n";
  if (::write(log_fd, header.data(), header.size()) < 0) {
    // The log is only a diagnostic; run the command anyway.
  }
  pid_t pid = ::fork();
  if (pid == 0) ExecChild(as, cwd.c_str(), null_fd, log_fd, argv.data());
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool ValidDatabaseName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

}  // namespace

PostgresInstance::PostgresInstance() : owner_pid_(::getpid()) {
  bin_dir_ = FindBinDir();
  if (bin_dir_.empty()) {
    throw std::runtime_error(
        "PostgreSQL server binaries (initdb, pg_ctl, createdb) not found in PATH or /usr/lib/postgresql/*/bin: "
        "install the postgresql-15 package (scripts/setup.sh)");
  }
  if (::geteuid() == 0) {
    // initdb and postgres refuse to run as root.
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) pw = ::getpwnam("nobody");
    if (!pw) {
      throw std::runtime_error(
          "running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL");
    }
    drop_privileges_ = true;
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }

  // Unix socket paths are limited to ~107 bytes, and the server user must reach the directory:
  // /tmp satisfies both when TMPDIR does not.
  std::string base = "/tmp";
  if (!drop_privileges_) {
    std::error_code ec;
    fs::path tmp = fs::temp_directory_path(ec);
    if (!ec && tmp.string().size() < 60) base = tmp.string();
  }
  std::string pattern = base + "/playground-pg-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    throw std::runtime_error("cannot create a temporary directory under " + base + ": " + std::strerror(errno));
  }
  dir_ = pattern;
  data_dir_ = dir_ + "/data";
  server_log_ = dir_ + "/server.log";
  command_log_ = dir_ + "/commands.log";
  if (drop_privileges_ && ::chown(dir_.c_str(), uid_, gid_) != 0) {
    FailWithLogs(std::string("cannot hand the directory to the server user: ") + std::strerror(errno));
  }

  StartWatchdog();
  InitCluster(base);
  Start();
  try {
    CreateDatabase(kDefaultDatabase);
  } catch (const std::exception& e) {
    FailWithLogs(e.what());
  }
}

PostgresInstance::~PostgresInstance() {
  try {
    Stop();
  } catch (...) {
    // A destructor must not throw; a leftover directory under /tmp is harmless.
  }
}

// initdb takes most of a second, and ctest runs every test case in its own process, so the
// first process leaves a pristine copy of its fresh cluster in a cache under /tmp that later
// processes copy instead (a quarter of the time). The cache is keyed by the binaries and the
// user, published with an atomic rename, and only trusted when owned by the server user.
void PostgresInstance::InitCluster(const std::string& base) {
  std::optional<Identity> as;
  if (drop_privileges_) as = Identity{uid_, gid_};
  uid_t owner = drop_privileges_ ? uid_ : ::geteuid();
  char key[32];
  std::snprintf(key, sizeof key, "%u-%016zx", static_cast<unsigned>(owner), std::hash<std::string>()(bin_dir_));
  // Bump the "v1" when the initdb arguments below change, so that no stale cluster is reused.
  const std::string cache = base + "/playground-pg-template-v1-" + key;

  struct stat st {};
  if (::lstat(cache.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == owner &&
      fs::exists(cache + "/data/PG_VERSION")) {
    if (Run({"/bin/cp", "-a", cache + "/data", data_dir_}, command_log_, dir_, as) == 0) return;
    std::error_code ec;
    fs::remove_all(data_dir_, ec);  // fall back to initdb
  }

  int rc = Run({bin_dir_ + "/initdb", "-D", data_dir_, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
                "--no-sync", "--no-instructions"},
               command_log_, dir_, as);
  if (rc != 0) FailWithLogs("initdb failed (exit " + std::to_string(rc) + ")");

  // Publish the still-pristine cluster; another process may win the race, which is fine.
  std::string staging = cache + ".XXXXXX";
  if (!::mkdtemp(staging.data())) return;
  bool published = (!drop_privileges_ || ::chown(staging.c_str(), uid_, gid_) == 0) &&
                   Run({"/bin/cp", "-a", data_dir_, staging + "/data"}, command_log_, dir_, as) == 0 &&
                   ::rename(staging.c_str(), cache.c_str()) == 0;
  if (!published) {
    std::error_code ec;
    fs::remove_all(staging, ec);
  }
}

void PostgresInstance::Start() {
  std::optional<Identity> as;
  if (drop_privileges_) as = Identity{uid_, gid_};
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = FreeLoopbackPort();
    // Durability is pointless for a throwaway cluster; a short deadlock_timeout keeps the
    // deadlock tests fast. pg_ctl hands these to a shell, hence the quoted socket directory.
    std::string options = "-p " + std::to_string(port_) + " -k '" + dir_ +
                          "' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                          " -c full_page_writes=off -c deadlock_timeout=100ms";
    int rc = Run({bin_dir_ + "/pg_ctl", "-D", data_dir_, "-l", server_log_, "-w", "-t", "30", "-o", options, "start"},
                 command_log_, dir_, as);
    if (rc == 0) {
      running_ = true;
      return;
    }
    // Most likely the port was taken in the meantime; make sure nothing half-started remains.
    Run({bin_dir_ + "/pg_ctl", "-D", data_dir_, "-m", "immediate", "stop"}, command_log_, dir_, as);
  }
  FailWithLogs("pg_ctl could not start PostgreSQL");
}

std::string PostgresInstance::Url(std::string db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

void PostgresInstance::CreateDatabase(const std::string& name) {
  if (!ValidDatabaseName(name)) throw std::invalid_argument("invalid database name: " + name);
  // Over TCP with trust authentication, so no user switch is needed.
  int rc = Run({bin_dir_ + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", name},
               command_log_, dir_, std::nullopt);
  if (rc != 0) {
    throw std::runtime_error("createdb " + name + " failed (exit " + std::to_string(rc) + "); log " + command_log_ +
                             ":\n" + TailFile(command_log_, 10));
  }
}

std::string PostgresInstance::NewDatabase() {
  std::string name = "t" + std::to_string(++next_database_);
  CreateDatabase(name);
  return Url(name);
}

void PostgresInstance::Stop() {
  if (::getpid() != owner_pid_) return;
  if (running_) {
    std::optional<Identity> as;
    if (drop_privileges_) as = Identity{uid_, gid_};
    Run({bin_dir_ + "/pg_ctl", "-D", data_dir_, "-m", "immediate", "-w", "-t", "30", "stop"}, command_log_, dir_, as);
    running_ = false;
  }
  StopWatchdog();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

// A shell that waits on a socket: "done" means Stop() cleaned up; end of file means this process
// died without its destructors, so the shell stops the server and removes the directory. It runs
// in its own session so that a signal to the test's process group does not take it down too.
void PostgresInstance::StartWatchdog() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    FailWithLogs(std::string("socketpair: ") + std::strerror(errno));
  }
  int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  std::vector<std::string> args = {
      "/bin/sh",
      "-c",
      "read -r line; [ \"$line\" = done ] && exit 0; \"$1\" -D \"$2\" -m immediate stop; rm -rf \"$3\"",
      "sh",
      bin_dir_ + "/pg_ctl",
      data_dir_,
      dir_};
  std::vector<char*> argv = ArgvPointers(args);
  std::optional<Identity> as;
  if (drop_privileges_) as = Identity{uid_, gid_};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ExecChild(as, "/", fds[0], null_fd, argv.data());
  }
  ::close(fds[0]);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) {
    ::close(fds[1]);
    FailWithLogs(std::string("fork: ") + std::strerror(errno));
  }
  watchdog_pid_ = pid;
  watchdog_fd_ = fds[1];
}

void PostgresInstance::StopWatchdog() {
  if (watchdog_fd_ < 0) return;
  // MSG_NOSIGNAL: a watchdog that already exited must not raise SIGPIPE here.
  ::send(watchdog_fd_, "done\n", 5, MSG_NOSIGNAL);
  ::close(watchdog_fd_);
  watchdog_fd_ = -1;
  int status = 0;
  while (::waitpid(watchdog_pid_, &status, 0) < 0 && errno == EINTR) {
  }
  watchdog_pid_ = -1;
}

void PostgresInstance::FailWithLogs(const std::string& what) {
  std::string message = "cannot start the test PostgreSQL: " + what + "\n  binaries: " + bin_dir_ +
                        "\n  directory (kept for inspection): " + dir_ + "\n  server log " + server_log_ + ":\n" +
                        TailFile(server_log_) + "  command log " + command_log_ + ":\n" + TailFile(command_log_);
  if (running_) {
    std::optional<Identity> as;
    if (drop_privileges_) as = Identity{uid_, gid_};
    Run({bin_dir_ + "/pg_ctl", "-D", data_dir_, "-m", "immediate", "stop"}, command_log_, dir_, as);
    running_ = false;
  }
  StopWatchdog();  // keeps the directory
  dir_.clear();
  throw std::runtime_error(message);
}

PostgresInstance& SharedPostgres() {
  static std::mutex mu;
  static std::unique_ptr<PostgresInstance> instance;  // destroyed at exit, which stops the server
  static std::string failure;
  std::lock_guard lock(mu);
  if (instance) return *instance;
  if (!failure.empty()) throw std::runtime_error(failure);
  try {
    instance = std::make_unique<PostgresInstance>();
  } catch (const std::exception& e) {
    failure = e.what();
    throw;
  }
  return *instance;
}

}  // namespace playground::testkit

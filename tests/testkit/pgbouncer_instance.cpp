#include "testkit/pgbouncer_instance.h"

#include "testkit/local.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace playground::testkit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kStartAttempts = 3;
constexpr auto kStartTimeout = 10s;

// Owns a file descriptor. Thread-compatible.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// PATH first (a developer's own build), then Debian's location, which a non-root PATH lacks.
std::string FindPgBouncer() { return FindExecutable("pgbouncer", {"/usr/sbin"}); }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// Whether a PostgreSQL-protocol server answers on the port: an SSLRequest gets a one-byte 'N' (or
// 'S'). Connecting alone would also succeed against whatever else listens there.
bool Answers(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return false;
  timeval timeout{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  // Message length 8, then the SSLRequest code 80877103.
  const unsigned char request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
  if (::send(fd.get(), request, sizeof request, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof request)) return false;
  char reply = 0;
  return ::recv(fd.get(), &reply, 1, 0) == 1 && (reply == 'N' || reply == 'S');
}

// Identity a child switches to before exec; nullopt keeps ours.
struct Identity {
  uid_t uid;
  gid_t gid;
};

// Everything the child does between fork and exec: only async-signal-safe calls, since the test
// process may have other threads. Never returns.
[[noreturn]] void ExecChild(const std::optional<Identity>& as, pid_t parent, const char* cwd, int in_fd, int out_fd,
                            char* const argv[]) {
  if (as && (::setgroups(0, nullptr) != 0 || ::setgid(as->gid) != 0 || ::setuid(as->uid) != 0)) _exit(126);
  // Set after setuid, which clears it. A test process killed without running destructors then
  // takes pgbouncer down too; the getppid() check covers a parent that died before the prctl.
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) _exit(126);
  if (::chdir(cwd) != 0) _exit(126);
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) _exit(126);
  // PgBouncer must not inherit the test's descriptors (sockets, database files, pipes).
  ::close_range(3, ~0U, 0);
  ::execv(argv[0], argv);
  _exit(127);
}

}  // namespace

void PgBouncerInstance::Child::Reset(pid_t pid) {
  Stop();
  pid_ = pid;
  exit_reason_.clear();
  owner_pid_ = ::getpid();
}

bool PgBouncerInstance::Child::Poll() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0 || (r < 0 && errno == EINTR)) return true;
  pid_ = -1;  // reaped (or not our child any more)
  if (r < 0) {
    exit_reason_ = "not a child of this process";
  } else if (WIFSIGNALED(status)) {
    exit_reason_ = std::string("killed by signal ") + std::to_string(WTERMSIG(status));
  } else {
    int code = WEXITSTATUS(status);
    // 126 and 127 come from ExecChild, before pgbouncer ran.
    exit_reason_ = "exit code " + std::to_string(code) +
                   (code == 126   ? ": could not switch user or directory"
                    : code == 127 ? ": could not execute the binary"
                                  : "");
  }
  return false;
}

void PgBouncerInstance::Child::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || ::getpid() != owner_pid_) return;
  // SIGTERM is PgBouncer's immediate shutdown (SIGINT would wait for clients to disconnect).
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (Poll()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(5ms);
  }
}

PgBouncerInstance::PgBouncerInstance(const PostgresInstance& upstream, PgBouncerOptions options)
    : upstream_port_(upstream.port()), options_(options) {
  binary_ = FindPgBouncer();
  if (binary_.empty()) {
    throw std::runtime_error(
        "pgbouncer not found in PATH or /usr/sbin: install the pgbouncer package (scripts/setup.sh test)");
  }
  if (::geteuid() == 0) {
    // "PgBouncer should not run as root": it exits at start-up.
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) pw = ::getpwnam("nobody");
    if (!pw) throw std::runtime_error("running as root, and neither a `postgres` nor a `nobody` user exists");
    drop_privileges_ = true;
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }

  // The unix socket path (~107 bytes at most) lives here, and the server user must reach the
  // directory: /tmp satisfies both when TMPDIR does not. pgbouncer.ini has no quoting for paths,
  // hence the plain-characters check.
  std::string base = "/tmp";
  if (!drop_privileges_) {
    std::error_code ec;
    std::string tmp = fs::temp_directory_path(ec).string();
    if (!ec && tmp.size() < 60 && tmp.find_first_of(" \t;#'\"=") == std::string::npos) base = tmp;
  }
  std::string pattern = base + "/playground-pgbouncer-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    throw std::runtime_error("cannot create a temporary directory under " + base + ": " + std::strerror(errno));
  }
  dir_ = pattern;
  config_path_ = dir_ + "/pgbouncer.ini";
  log_path_ = dir_ + "/pgbouncer.log";
  stderr_path_ = dir_ + "/stderr.log";
  try {
    if (drop_privileges_ && ::chown(dir_.c_str(), uid_, gid_) != 0) {
      throw std::runtime_error(std::string("cannot hand the directory to the server user: ") + std::strerror(errno));
    }
    // Even auth_type = trust looks the user up in the auth file; the upstream trusts everyone.
    WriteFile(dir_ + "/userlist.txt", "\"postgres\" \"\"\n");
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
      port_ = FreeLoopbackPort();
      WriteConfig();
      if (TryStart()) return;
    }
    throw std::runtime_error("could not listen on a free port in " + std::to_string(kStartAttempts) + " attempts");
  } catch (const std::runtime_error& e) {
    Fail(e.what());
  }
}

PgBouncerInstance::~PgBouncerInstance() { Stop(); }

void PgBouncerInstance::WriteConfig() {
  std::ostringstream ini;
  ini << ";; Written by tests/testkit/pgbouncer_instance.cpp for one test; deleted with its directory.\n"
      << "[databases]\n"
      // Any database name a client asks for, on the upstream server.
      << "* = host=127.0.0.1 port=" << upstream_port_ << "\n"
      << "\n[pgbouncer]\n"
      << "listen_addr = 127.0.0.1\n"
      << "listen_port = " << port_ << "\n"
      << "unix_socket_dir = " << dir_ << "\n"
      << "pool_mode = transaction\n"
      << "auth_type = trust\n"
      << "auth_file = " << dir_ << "/userlist.txt\n"
      << "default_pool_size = " << options_.default_pool_size
      << "\n"
      // No connections beyond default_pool_size, so that tests know how many clients share one.
      << "min_pool_size = 0\n"
      << "reserve_pool_size = 0\n"
      << "max_client_conn = 100\n"
      << "query_wait_timeout = " << options_.query_wait_timeout.count()
      << "\n"
      // The default waits 15 s after a failed upstream login before trying again.
      << "server_login_retry = 1\n"
      << "logfile = " << log_path_ << "\n"
      << "pidfile = " << dir_
      << "/pgbouncer.pid\n"
      // PgBouncer rejects a startup parameter it does not track unless it is listed here. libpq
      // sends none by default (application_name is tracked); drivers such as JDBC send this one.
      << "ignore_startup_parameters = extra_float_digits\n";
  WriteFile(config_path_, ini.str());
}

bool PgBouncerInstance::TryStart() {
  // -q: log to the logfile only, not to stderr as well (stderr only gets errors about the logfile).
  std::vector<std::string> args = {binary_, "-q", config_path_};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Fd out(::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  Fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (out.get() < 0 || in.get() < 0) {
    throw std::runtime_error("cannot open " + stderr_path_ + " or /dev/null: " + std::strerror(errno));
  }
  std::optional<Identity> as;
  if (drop_privileges_) as = Identity{uid_, gid_};
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) ExecChild(as, parent, dir_.c_str(), in.get(), out.get(), argv.data());
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  child_.Reset(pid);

  // PgBouncer 1.18 does not exit when the TCP port is taken: it logs "cannot listen on ..." and
  // carries on with the unix socket alone, so a probe of the port could reach another server.
  // Its log says which happened.
  const std::string address = "127.0.0.1:" + std::to_string(port_);
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  bool listening = false;
  while (true) {
    if (!child_.Poll()) throw std::runtime_error("pgbouncer exited during start-up (" + child_.exit_reason() + ")");
    if (!listening) {
      std::string log = ReadFile(log_path_);
      if (log.find("cannot listen on " + address) != std::string::npos) {
        child_.Stop();
        return false;
      }
      listening = log.find("listening on " + address) != std::string::npos;
    }
    if (listening && Answers(port_)) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("pgbouncer did not accept connections on " + address + " within " +
                               std::to_string(kStartTimeout.count()) + " s");
    }
    std::this_thread::sleep_for(10ms);
  }
}

std::string PgBouncerInstance::Url(std::string_view db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + std::string(db);
}

std::string PgBouncerInstance::LogTail(size_t max_lines) const { return TailFile(log_path_, max_lines); }

void PgBouncerInstance::Stop() {
  child_.Stop();
  if (child_.running()) return;  // a forked copy of the test process: the directory is not its own
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

void PgBouncerInstance::Fail(const std::string& what) {
  child_.Stop();
  std::string message = "cannot start the test PgBouncer: " + what + "\n  binary: " + binary_ +
                        "\n  directory (kept for inspection): " + dir_ + "\n  log " + log_path_ + ":\n" +
                        TailFile(log_path_, 40) + "  stderr " + stderr_path_ + ":\n" + TailFile(stderr_path_, 10);
  dir_.clear();
  throw std::runtime_error(message);
}

}  // namespace playground::testkit

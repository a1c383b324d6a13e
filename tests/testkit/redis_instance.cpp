#include "testkit/redis_instance.h"

#include "testkit/local.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace playground::testkit {
namespace {

namespace fs = std::filesystem;

constexpr auto kStartTimeout = std::chrono::seconds(15);
constexpr int kLaunchAttempts = 3;

std::string FindRedisServer() { return FindExecutable("redis-server", {"/usr/bin"}); }

std::string ReadFrom(const std::string& path, std::streamoff offset) {
  std::ifstream in(path);
  if (!in) return "";
  in.seekg(offset);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::streamoff FileSize(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<std::streamoff>(size);
}

// RAII for a socket descriptor. Thread-compatible.
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

std::string Resp(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// Sends `commands` to 127.0.0.1:port on one connection and returns the first line of each reply
// (enough for the one-line replies the harness expects: +PONG, +OK, -ERR ...). Throws
// std::runtime_error on a connection failure.
std::vector<std::string> Converse(int port, const std::vector<std::vector<std::string>>& commands) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  timeval tv{2, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  std::string request;
  for (const auto& c : commands) request += Resp(c);
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  std::vector<std::string> lines;
  std::string buffer;
  while (lines.size() < commands.size()) {
    size_t end = buffer.find("\r\n");
    if (end != std::string::npos) {
      lines.push_back(buffer.substr(0, end));
      buffer.erase(0, end + 2);
      continue;
    }
    char chunk[512];
    ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n <= 0) throw std::runtime_error(n == 0 ? "connection closed" : std::string("recv: ") + std::strerror(errno));
    buffer.append(chunk, static_cast<size_t>(n));
  }
  return lines;
}

}  // namespace

RedisInstance::RedisInstance(std::string password) : password_(std::move(password)), owner_pid_(::getpid()) {
  binary_ = FindRedisServer();
  if (binary_.empty()) {
    throw std::runtime_error(
        "redis-server not found in PATH or /usr/bin: install the redis-server package (scripts/setup.sh test)");
  }
  std::string pattern = (fs::temp_directory_path() / "playground-redis-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = pattern;
  log_path_ = dir_ + "/redis.log";

  std::string why;
  for (int attempt = 0; attempt < kLaunchAttempts; ++attempt) {
    port_ = FreeLoopbackPort();
    Launch(port_);
    if (WaitUntilReady(&why)) return;
    Stop();  // most likely the port was taken in the meantime: try another
  }
  FailWithLog("redis-server did not start: " + why);
}

RedisInstance::~RedisInstance() {
  if (::getpid() != owner_pid_) return;
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string RedisInstance::Url(int db) const {
  std::string auth = password_.empty() ? "" : ":" + password_ + "@";
  return "redis://" + auth + "127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

void RedisInstance::Launch(int port) {
  std::vector<std::string> args = {
      binary_, "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--dir", dir_,     "--daemonize",        "no",     "--logfile", ""};
  if (!password_.empty()) {
    args.push_back("--requirepass");
    args.push_back(password_);
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    int err = errno;
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    throw std::runtime_error("cannot open " + log_path_ + ": " + std::strerror(err));
  }
  run_log_start_ = FileSize(log_path_);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec: the test process may have other threads. The
    // death signal kills the server if the test process dies without running destructors.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) _exit(126);
    if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) _exit(126);
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  pid_ = pid;
}

// Ready when this run's log says so (a PING alone could be answered by another server that took
// the port first) and PING answers.
bool RedisInstance::WaitUntilReady(std::string* why) {
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  *why = "no answer within " + std::to_string(kStartTimeout.count()) + " s";
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *why = WIFEXITED(status) ? "redis-server exited with status " + std::to_string(WEXITSTATUS(status))
                               : "redis-server was killed by signal " + std::to_string(WTERMSIG(status));
      return false;
    }
    if (ReadFrom(log_path_, run_log_start_).find("Ready to accept connections") != std::string::npos) {
      try {
        std::vector<std::vector<std::string>> commands;
        if (!password_.empty()) commands.push_back({"AUTH", password_});
        commands.push_back({"PING"});
        std::vector<std::string> replies = Converse(port_, commands);
        if (replies.back() == "+PONG") return true;
        *why = "PING answered " + replies.back();
      } catch (const std::exception& e) {
        *why = e.what();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void RedisInstance::Stop() {
  if (pid_ <= 0 || ::getpid() != owner_pid_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void RedisInstance::Start() {
  if (running()) return;
  Launch(port_);
  std::string why;
  if (!WaitUntilReady(&why)) FailWithLog("redis-server did not restart on port " + std::to_string(port_) + ": " + why);
}

void RedisInstance::FlushAll() {
  std::vector<std::vector<std::string>> commands;
  if (!password_.empty()) commands.push_back({"AUTH", password_});
  commands.push_back({"FLUSHALL"});
  std::vector<std::string> replies = Converse(port_, commands);
  if (replies.back() != "+OK") throw std::runtime_error("FLUSHALL answered " + replies.back());
}

void RedisInstance::FailWithLog(const std::string& what) {
  std::string message = "cannot start the test Redis: " + what + "\n  binary: " + binary_ +
                        "\n  directory (kept for inspection): " + dir_ + "\n  log " + log_path_ + ":\n" +
                        TailFile(log_path_);
  Stop();
  dir_.clear();
  throw std::runtime_error(message);
}

RedisInstance& SharedRedis() {
  static std::mutex mu;
  static std::unique_ptr<RedisInstance> instance;  // destroyed at exit, which kills the server
  static std::string failure;
  std::lock_guard lock(mu);
  if (instance) return *instance;
  if (!failure.empty()) throw std::runtime_error(failure);
  try {
    instance = std::make_unique<RedisInstance>();
  } catch (const std::exception& e) {
    failure = e.what();
    throw;
  }
  return *instance;
}

}  // namespace playground::testkit

#include "testkit/process.h"

#include "testkit/local.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace playground::testkit {

namespace fs = std::filesystem;

std::string PlaygroundBinary() { return PLAYGROUND_BINARY; }
std::string SourceDir() { return PLAYGROUND_SOURCE_DIR; }

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "playground-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env, const std::string& log_dir) {
  static int counter = 0;
  int n = ++counter;
  out_path_ = log_dir + "/stdout." + std::to_string(n) + ".log";
  err_path_ = log_dir + "/stderr." + std::to_string(n) + ".log";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (Running()) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
}

void Process::Signal(int sig) { kill(pid_, sig); }

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool Process::Running() { return !exit_code_ && !Wait(std::chrono::milliseconds(0)); }

std::string Process::Stdout() const { return ReadFile(out_path_); }
std::string Process::Stderr() const { return ReadFile(err_path_); }

TestServer::TestServer(std::map<std::string, std::string> env, std::vector<std::string> extra_args, int) {
  data_dir_ = dir_.path() + "/data";
  env.try_emplace("PORT", "0");
  env.try_emplace("HOST", "127.0.0.1");
  env.try_emplace("DATA_DIR", data_dir_);
  env.try_emplace("LOG_LEVEL", "info");
  // No web UI unless a test gives one: whether web/dist is built must not change what unknown
  // paths answer.
  env.try_emplace("STATIC_DIR", dir_.path() + "/no-web-ui");
  std::vector<std::string> argv = {PlaygroundBinary(), "serve"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<Process>(argv, env, dir_.path());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& line : LogLines()) {
      if (line.value("msg", "") == "listening") {
        port_ = line.at("port").get<int>();
        return;
      }
    }
    if (!process_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("playground did not start; stderr:\n" + process_->Stderr() + "\nstdout:\n" +
                           process_->Stdout());
}

TestServer::~TestServer() {
  if (process_->Running()) {
    process_->Signal(SIGKILL);
    process_->Wait(std::chrono::seconds(10));
  }
}

std::vector<nlohmann::json> TestServer::LogLines() const {
  std::vector<nlohmann::json> lines;
  std::istringstream in(process_->Stdout());
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) lines.push_back(std::move(j));
  }
  return lines;
}

std::optional<int> TestServer::Stop(std::chrono::milliseconds timeout) {
  process_->Signal(SIGTERM);
  return process_->Wait(timeout);
}

std::pair<int, std::string> RunPlayground(std::vector<std::string> args, std::map<std::string, std::string> env,
                                          std::chrono::seconds timeout) {
  TempDir dir;
  env.try_emplace("DATA_DIR", dir.path() + "/data");
  std::vector<std::string> argv = {PlaygroundBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv, env, dir.path());
  auto code = p.Wait(timeout);
  if (!code) throw std::runtime_error("playground did not exit within the timeout");
  return {*code, p.Stdout() + p.Stderr()};
}

}  // namespace playground::testkit

// Runs the real `playground` binary (or any program) as a child process for black-box tests:
// its own temporary data directory, stdout and stderr captured to files, and helpers to wait for
// start-up, send signals and collect the exit code. Thread-compatible.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "testkit/http_client.h"

namespace playground::testkit {

// A fresh directory under the system temp dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class Process {
 public:
  // Starts `argv` with the current environment plus `env` (which may override).
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env, const std::string& log_dir);
  ~Process();  // kills the process if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }
  void Signal(int sig);
  // Waits for the exit; the exit code, 128+signal when killed, or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool Running();
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  int pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_, err_path_;
};

using Env = std::map<std::string, std::string>;

// The playground binary started with `serve` on a free port.
class TestServer {
 public:
  // `env` adds settings (e.g. DATABASE_URL); PORT=0, HOST, DATA_DIR and STATIC_DIR (a missing
  // directory: no web UI) are set unless given.
  explicit TestServer(std::map<std::string, std::string> env = {}) : TestServer(std::move(env), {}, 0) {}
  TestServer(std::map<std::string, std::string> env, std::vector<std::string> extra_args, int /*tag*/);
  ~TestServer();

  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  Process& process() { return *process_; }
  HttpClient Client() const { return HttpClient("127.0.0.1", port_); }
  // Every JSON log line printed so far.
  std::vector<nlohmann::json> LogLines() const;
  // Sends SIGTERM and waits for the exit code.
  std::optional<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(40));

 private:
  TempDir dir_;
  std::string data_dir_;
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// Runs the binary to completion with `args`; returns {exit code, stdout + stderr}.
std::pair<int, std::string> RunPlayground(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                                          std::chrono::seconds timeout = std::chrono::seconds(60));

std::string PlaygroundBinary();
std::string SourceDir();

}  // namespace playground::testkit

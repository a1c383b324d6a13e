#include "core/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace playground::core {
namespace {

// Buffers lines and writes them to stdout in blocks. Written by hand because spdlog's stdout
// sinks flush after every line: one write(2) per request, which costs more than the request.
// Lines reach stdout when 64 KiB are buffered, on flush (every second, and at once for warnings
// and errors), and at exit. base_sink's mutex guards buffer_.
class BufferedStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~BufferedStdoutSink() override { WriteOut(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    buffer_.append(formatted.data(), formatted.size());
    if (buffer_.size() >= kBlock) WriteOut();
  }
  void flush_() override { WriteOut(); }

 private:
  static constexpr size_t kBlock = 64 * 1024;
  void WriteOut() {
    size_t off = 0;
    while (off < buffer_.size()) {
      ssize_t n = ::write(STDOUT_FILENO, buffer_.data() + off, buffer_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stdout is gone: drop the logs rather than block the server
      off += static_cast<size_t>(n);
    }
    buffer_.clear();
  }
  std::string buffer_;
};

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("playground", std::make_shared<BufferedStdoutSink>());
    l->set_pattern("%v");  // lines are complete JSON objects already
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::warn);
    spdlog::register_logger(l);  // so that spdlog::flush_every reaches it
    return l;
  }();
  return logger;
}

spdlog::level::level_enum ToSpd(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "info";
}

}  // namespace

void InitLogging(std::string_view level) {
  static std::once_flag once;
  std::call_once(once, [] { spdlog::flush_every(std::chrono::seconds(1)); });
  Logger()->set_level(spdlog::level::from_str(std::string(level)));
}

void FlushLogs() { Logger()->flush(); }

bool LogEnabled(LogLevel level) { return Logger()->should_log(ToSpd(level)); }

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

void Log(LogLevel level, std::string_view msg, const nlohmann::json& fields) {
  if (!LogEnabled(level)) return;
  nlohmann::json line = {{"ts", NowRfc3339()}, {"level", LevelName(level)}, {"msg", msg}};
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  Logger()->log(ToSpd(level), line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void LogRaw(LogLevel level, std::string_view json_line) {
  Logger()->log(ToSpd(level), spdlog::string_view_t(json_line.data(), json_line.size()));
}

}  // namespace playground::core

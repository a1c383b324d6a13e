// Structured logging: one JSON object per line on stdout (spdlog underneath).
//
// Every line has "ts" (RFC 3339, UTC, milliseconds), "level" and "msg"; callers add fields as a
// JSON object. Secrets must never be passed here: settings marked secret are never logged, and
// request logs carry no headers or bodies. Safe for concurrent use.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace playground::core {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Sets up the process-wide logger writing to stdout. Call once, early; later calls only change
// the level. Lines are buffered and flushed every second and at exit (FlushLogs).
void InitLogging(std::string_view level);
void FlushLogs();
bool LogEnabled(LogLevel level);

// Writes one line: {"ts":..., "level":..., "msg": msg, ...fields}.
void Log(LogLevel level, std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());

// Writes one prebuilt JSON object as a line (for the hot request-log path, which builds its own).
void LogRaw(LogLevel level, std::string_view json_line);

// Current time as RFC 3339 UTC with milliseconds, e.g. 2026-11-23T05:49:58.123Z.
std::string NowRfc3339();

inline void LogInfo(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  Log(LogLevel::kInfo, msg, f);
}
inline void LogWarn(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  Log(LogLevel::kWarn, msg, f);
}
inline void LogError(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  Log(LogLevel::kError, msg, f);
}

}  // namespace playground::core
